"""§6.10: the entries of signing ceremonies that check 12 holds to rules -- load-input,
sign-certificate, cross-certify, issue-crl. (prove-root-key is a root key of §6.4, in
actions.py.)"""

from . import cryptox, x509files
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


def issued_certificate(seq, action, inputs, outputs, state):
    """§6.10 sign-certificate and cross-certify."""
    if state.root_key is None:
        raise _malformed(seq, f"{action}, but the ceremony has no root key (§6.4)")
    cert = outputs.get("certificate")
    pem = cert.get("pem") if isinstance(cert, dict) else None
    parsed = cryptox.load_certificate(pem) if isinstance(pem, str) else None
    if parsed is None:
        raise _malformed(seq, "outputs.certificate.pem is not an X.509 certificate (PEM)")
    if not cryptox.certificate_signed_by(parsed, state.root_key["spki"]):
        raise _malformed(seq, "the certificate's signature does not verify with the root key")
    name = inputs.get("input")
    if not isinstance(name, str) or name not in state.inputs:
        raise _malformed(seq, f"inputs.input {name!r} names no input loaded before")
    kind, content = state.inputs[name]
    key = x509files.input_spki(kind, content)
    if key is None:
        raise _malformed(seq, f"input {name!r} ({kind}) names no key: not a readable "
                              "certificate request or certificate")
    if cryptox.certificate_spki(parsed) != key:
        raise _malformed(seq, f"the certificate's SubjectPublicKeyInfo is not the key input "
                              f"{name!r} names")


def crl(seq, outputs, state):
    """§6.10 issue-crl."""
    if state.root_key is None:
        raise _malformed(seq, "issue-crl, but the ceremony has no root key (§6.4)")
    crl = outputs.get("crl")
    der = x509files.load_crl(crl.get("pem") if isinstance(crl, dict) else None)
    if der is None:
        raise _malformed(seq, "outputs.crl.pem is not a PEM (X509 CRL) DER CertificateList")
    if not x509files.crl_signed_by(der, state.root_key["spki"], state.root_key["algorithm"]):
        raise _malformed(seq, "the CRL's signature does not verify with the root key "
                              f"({state.root_key['algorithm']}, hashed as §2.3 pairs it)")
