"""§6.10: the entries of signing ceremonies that check 12 holds to rules -- load-input,
sign-certificate, cross-certify, issue-crl. (prove-root-key is a root key of §6.4, in
actions.py.)"""

from . import cryptox, profile, x509files, x509profile
from . import formats as F
from .errors import Fail

INPUT_KINDS = ("certificate-request", "certificate", "revocation-list")


def _malformed(seq, reason):
    return Fail("ACTION_MALFORMED", seq, reason)


def load_input(seq, outputs):
    """§6.10 load-input: returns (name, kind, content bytes) of outputs.input.

    `name` a string, `kind` one of the three kinds, `content` strict base64 (§1) of the file's
    bytes, `sha256` = hex SHA-256 of the decoded content. Other members are allowed ("has").
    """
    inp = outputs.get("input")
    if not isinstance(inp, dict):
        raise _malformed(seq, "outputs.input is not an object")
    if not isinstance(inp.get("name"), str):
        raise _malformed(seq, "outputs.input.name is not a string")
    if inp.get("kind") not in INPUT_KINDS:
        raise _malformed(seq, f"outputs.input.kind {inp.get('kind')!r} is not one of "
                              f"{', '.join(INPUT_KINDS)}")
    content = F.b64(inp.get("content"))
    if content is None:
        raise _malformed(seq, "outputs.input.content is not strict base64")
    if inp.get("sha256") != cryptox.sha256_hex(content):
        raise _malformed(seq, "outputs.input.sha256 is not the SHA-256 of the recorded content: "
                              "the file recorded is not the one whose hash was compared aloud")
    return inp["name"], inp["kind"], content


def root_proof(seq, ceremony_id, outputs, rk, fingerprint):
    """§6.4 prove-root-key: outputs.proof's challenge is for this ceremony and key, followed by
    32 bytes, and its signature (as §2.3's root-key signatures) verifies with the proved key."""
    proof = outputs.get("proof")
    if not isinstance(proof, dict):
        raise _malformed(seq, "outputs.proof is not an object")
    challenge, signature = F.b64(proof.get("challenge")), F.b64(proof.get("signature"))
    if challenge is None or signature is None:
        raise _malformed(seq, "outputs.proof.challenge / signature are not strict base64")
    prefix = f"Custos root key proof\nceremony {ceremony_id}\nkey {fingerprint}\n".encode("utf-8")
    if len(challenge) != len(prefix) + 32 or not challenge.startswith(prefix):
        raise _malformed(seq, "the proof's challenge is not one for this ceremony and key")
    if not cryptox.verify_root(cryptox.SIGNATURE_FOR_KEY[rk["algorithm"]], rk["spki"],
                               signature, challenge):
        raise _malformed(seq, "the proof's signature does not verify with the proved root key")


def _root_certificate(seq, what, state):
    """§6.9: the root certificate (latest self-sign-certificate or load-source-ceremony
    sourceCertificate.pem before the entry), which must be of the root key. -> DER."""
    if state.root_key is None:
        raise _malformed(seq, f"{what}, but the ceremony has no root key (§6.4)")
    pem = getattr(state, "root_certificate", None)
    der = x509files.pem_der(pem.encode("utf-8"), x509files.CERT_LABELS) if isinstance(pem, str) else None
    if der is None or x509files._certificate_der(der) is None:
        raise _malformed(seq, f"{what}, but no root certificate is recorded before it (§6.9)")
    try:
        if x509files.certificate_fields(der)["spki"] != state.root_key["spki"]:
            raise _malformed(seq, "the root certificate is not of the ceremony's root key")
    except (ValueError, IndexError):
        raise _malformed(seq, "the root certificate cannot be read")
    return der


def _named_input(seq, inputs, state, kinds):
    name = inputs.get("input")
    if not isinstance(name, str) or name not in state.inputs:
        raise _malformed(seq, f"inputs.input {name!r} names no input loaded before")
    kind, content = state.inputs[name]
    if kind not in kinds:
        raise _malformed(seq, f"input {name!r} is a {kind}, not a {' or '.join(kinds)}")
    if inputs.get("inputSha256") != cryptox.sha256_hex(content):
        raise _malformed(seq, "inputs.inputSha256 is not the SHA-256 of the input compared aloud")
    return name, kind, content


def _file(seq, outputs, params, pem):
    files = outputs.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise _malformed(seq, "outputs.files is not an array of objects")
    named = [f for f in files if f.get("name") == params.get("output")]
    if len(named) != 1:
        raise _malformed(seq, f"outputs.files does not list {params.get('output')!r} once")
    if named[0].get("sha256") != cryptox.sha256_hex(pem.encode("utf-8")):
        raise _malformed(seq, "the file written is recorded with another SHA-256 than the PEM")


def _paired(seq, what, fields, state):
    want = x509files.PAIRED_ALGORITHM_ID[state.root_key["algorithm"]]
    if fields["outer_alg"] != want or fields["inner_alg"] != want:
        raise _malformed(seq, f"{what} does not declare the AlgorithmIdentifier §6.9 pairs "
                              f"with the root key")


def issued_certificate(seq, action, inputs, outputs, state, params=None):
    """§6.10 sign-certificate and cross-certify (with §6.9's profile)."""
    params = params or {}
    root_der = _root_certificate(seq, action, state)
    cert = outputs.get("certificate")
    pem = cert.get("pem") if isinstance(cert, dict) else None
    parsed = cryptox.load_certificate(pem) if isinstance(pem, str) else None
    if parsed is None:
        raise _malformed(seq, "outputs.certificate.pem is not an X.509 certificate (PEM)")
    der = x509files.pem_der(pem.encode("utf-8"), x509files.CERT_LABELS)
    try:
        fields = x509files.certificate_fields(der)
    except (ValueError, IndexError):
        raise _malformed(seq, "outputs.certificate.pem cannot be cut into its fields")
    _paired(seq, "the certificate", fields, state)
    if not cryptox.certificate_signed_by(parsed, state.root_key["spki"]):
        raise _malformed(seq, "the certificate's signature does not verify with the root key")
    name, kind, content = _named_input(seq, inputs, state,
                                       ("certificate-request", "certificate"))
    key = x509files.input_spki(kind, content)
    if key is None:
        raise _malformed(seq, f"input {name!r} ({kind}) names no key: not a readable "
                              "certificate request or certificate")
    if cryptox.certificate_spki(parsed) != key:
        raise _malformed(seq, f"the certificate's SubjectPublicKeyInfo is not the key input "
                              f"{name!r} names")
    if fields["subject"] != x509files.input_subject(kind, content):
        raise _malformed(seq, f"the certificate's subject is not input {name!r}'s subject")
    if fields["issuer"] != x509files.certificate_fields(root_der)["subject"]:
        raise _malformed(seq, "the certificate's issuer is not the root certificate's subject")
    prof = profile.read_profile(params.get("profile"))
    if prof is None:
        raise _malformed(seq, "the step's params.profile is not a profile of §6.9")
    problem = x509profile.follows(parsed, prof, state.root_key["spki"], root_der)
    if problem:
        raise _malformed(seq, f"the certificate does not follow the profile: {problem}")
    if cert.get("sha256") != cryptox.sha256_hex(der):
        raise _malformed(seq, "outputs.certificate.sha256 is not the certificate's fingerprint")
    spki_hash = cryptox.sha256_hex(fields["spki"])
    if cert.get("spkiSha256") != spki_hash:
        raise _malformed(seq, "outputs.certificate.spkiSha256 is not the hash of its key")
    for m in ("request", "otherRoot"):
        v = outputs.get(m)
        if isinstance(v, dict) and "spkiSha256" in v and v["spkiSha256"] != spki_hash:
            raise _malformed(seq, f"outputs.{m}.spkiSha256 is not the hash of the certified key")
    if cert.get("serialNumber") != fields["serial"].hex():
        raise _malformed(seq, "outputs.certificate.serialNumber is not the certificate's serial")
    _file(seq, outputs, params, pem)


def crl(seq, inputs, outputs, state, params=None):
    """§6.10 issue-crl (with §6.9's revocation list)."""
    from cryptography import x509
    params = params or {}
    root_der = _root_certificate(seq, "issue-crl", state)
    c = outputs.get("crl")
    pem = c.get("pem") if isinstance(c, dict) else None
    der = x509files.load_crl(pem)
    if der is None:
        raise _malformed(seq, "outputs.crl.pem is not a PEM (X509 CRL) DER CertificateList")
    fields = x509files.crl_fields(der)
    _paired(seq, "the CRL", fields, state)
    if not x509files.crl_signed_by(der, state.root_key["spki"], state.root_key["algorithm"]):
        raise _malformed(seq, "the CRL's signature does not verify with the root key "
                              f"({state.root_key['algorithm']}, hashed as §2.3 pairs it)")
    if fields["issuer"] != x509files.certificate_fields(root_der)["subject"]:
        raise _malformed(seq, "the CRL's issuer is not the root certificate's subject")
    listed = []
    if "input" in inputs:
        _, _, content = _named_input(seq, inputs, state, ("revocation-list",))
        listed = profile.revocation_list(content)
        if isinstance(listed, str):
            raise _malformed(seq, f"the revocation list compared aloud is not of §6.9: {listed}")
    parsed = x509.load_der_x509_crl(der)
    want = dict(listed)
    got = {}
    for r in parsed:
        if r.serial_number in got:
            raise _malformed(seq, "the CRL revokes a serial twice")
        try:
            exts = list(r.extensions)
        except ValueError:
            raise _malformed(seq, "a CRL entry's extensions cannot be read")
        if not exts:
            got[r.serial_number] = "unspecified"
        elif len(exts) == 1 and isinstance(exts[0].value, x509.CRLReason):
            reason = exts[0].value.reason  # unspecified is written as no reasonCode (§6.10)
            got[r.serial_number] = None if reason == x509.ReasonFlags.unspecified else _REASON_NAMES.get(reason)
        else:
            got[r.serial_number] = None
    if got != want:
        raise _malformed(seq, "the CRL's revoked certificates are not exactly the list compared "
                              "aloud (serials and reasons)")
    days = params.get("nextUpdateDays")
    nxt = parsed.next_update_utc
    if not (isinstance(days, int) and days >= 1) or nxt is None or \
            (nxt - parsed.last_update_utc).total_seconds() != days * 86400:
        raise _malformed(seq, "the CRL's nextUpdate is not params.nextUpdateDays after thisUpdate")
    try:
        number = parsed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (x509.ExtensionNotFound, ValueError):
        raise _malformed(seq, "the CRL has no cRLNumber")
    if c.get("sha256") != cryptox.sha256_hex(der):
        raise _malformed(seq, "outputs.crl.sha256 is not the CRL's SHA-256")
    if c.get("number") != str(number):
        raise _malformed(seq, "outputs.crl.number is not the CRL's cRLNumber")
    _file(seq, outputs, params, pem)


def _reason_names():
    from cryptography import x509
    F_ = x509.ReasonFlags
    return {F_.unspecified: "unspecified", F_.key_compromise: "keyCompromise",
            F_.ca_compromise: "cACompromise", F_.affiliation_changed: "affiliationChanged",
            F_.superseded: "superseded", F_.cessation_of_operation: "cessationOfOperation",
            F_.certificate_hold: "certificateHold", F_.privilege_withdrawn: "privilegeWithdrawn"}


_REASON_NAMES = _reason_names()
