"""§6 (each action's own rules, check §7.2.12), §7.2.13 (authorised signers) and §7.4 (who must
sign, check §7.2.14)."""

from . import cryptox, preflight, signing
from . import formats as F
from .errors import Fail
from .script import ENROL, SEAL

ROOT_KEY_ACTIONS = ("generate-key-pair", "collect-shares-and-restore", "prove-root-key")
PROVE_ROOT = "prove-root-key"
LOAD_SOURCE = "load-source-ceremony"
SELF_SIGN = "self-sign-certificate"
LOAD_INPUT = "load-input"                                  # §6.10
ISSUES_CERTIFICATE = ("sign-certificate", "cross-certify")  # §6.10
ISSUE_CRL = "issue-crl"                                    # §6.10
PARTICIPANT_MEMBERS = {"id", "name", "roles", "publicKey"}  # + exactly one of kdf, token
KDF_MEMBERS = {"algorithm", "N", "r", "p", "salt"}
TOKEN_MEMBERS = {"serial", "label", "model", "algorithm"}    # §6.3, §2.4a
TOKEN_CURVE = {"ECDSA-SHA256": "P-256", "ECDSA-SHA384": "P-384"}
SETTINGS_MEMBERS = {"algorithm", "threshold", "shares"}


def _malformed(seq, reason):
    return Fail("ACTION_MALFORMED", seq, reason)


def _nonempty_str(v):
    return isinstance(v, str) and v != ""


# ---------------------------------------------------------------------------------------------
# Check 12: the action's own rules

def check_rules(seq, body, sigs, kind, script, state, header):
    inputs, outputs = body["inputs"], body["outputs"]
    if kind == "open":
        _opening(seq, body, script, header)
    elif kind == "exception":  # §6.6
        if not _nonempty_str(inputs.get("text")):
            raise _malformed(seq, "an exception's inputs.text is not a non-empty string")
    elif kind == "deviation":  # §6.7
        if not _nonempty_str(inputs.get("kind")):
            raise _malformed(seq, "a deviation's inputs.kind is not a non-empty string")
    elif kind == "abort":  # §6.8 (a signature before the enrolment fails check 13)
        if not _nonempty_str(inputs.get("reason")):
            raise _malformed(seq, "an abort's inputs.reason is not a non-empty string")
    else:
        action = body["action"]
        preflight.require_qualified(seq, action, state)  # §6.4c
        if action == ENROL:
            participants(seq, outputs, script, state)
        elif action in ROOT_KEY_ACTIONS:
            rk = root_key(seq, action, outputs, state)
            if action == PROVE_ROOT:  # §6.4: the token's proof
                signing.root_proof(seq, body["ceremonyId"], outputs, rk,
                                   outputs["rootKey"]["fingerprint"])
        elif action == SELF_SIGN:
            _certificate(seq, outputs, state)
        elif action == preflight.PREFLIGHT:
            preflight.check(seq, inputs, outputs, state)
        elif action == LOAD_SOURCE:
            _load_source(seq, outputs)
        elif action == LOAD_INPUT:
            signing.load_input(seq, outputs)
        elif action in ISSUES_CERTIFICATE:
            signing.issued_certificate(seq, action, inputs, outputs, state,
                                       script.steps[state.cursor]["params"])
        elif action == ISSUE_CRL:
            signing.crl(seq, inputs, outputs, state, script.steps[state.cursor]["params"])
        elif action == SEAL:  # §6.5
            n = outputs.get("sealedEntries")
            if not F.is_int(n) or n != seq - 1:
                raise _malformed(seq, f"outputs.sealedEntries is {n!r}, not {seq - 1}")


def _opening(seq, body, script, header):
    """§6.1 (stepId is check 11's, a signature check 13's).

    The script hash first (check 12: "checked before the other rules of §6.1"): any value that is
    not the header's scriptSha256, a missing one included, is SCRIPT_HASH_MISMATCH.
    """
    out = body["outputs"]
    if out.get("scriptSha256") != header["scriptSha256"]:
        raise Fail("SCRIPT_HASH_MISMATCH", seq,
                   "entry 1's outputs.scriptSha256 is not the header's scriptSha256")
    if body["inputs"] != {}:
        raise _malformed(seq, "the opening's inputs are not {}")
    if out.get("scriptId") != script.id:
        raise _malformed(seq, "outputs.scriptId is not the script's id")
    if out.get("scriptVersion") != script.version:
        raise _malformed(seq, "outputs.scriptVersion is not the script's version")
    if out.get("mode") not in ("rehearsal", "production"):
        raise _malformed(seq, f"outputs.mode is {out.get('mode')!r}")
    st = out.get("settings")
    if not isinstance(st, dict) or set(st) != SETTINGS_MEMBERS:
        raise _malformed(seq, "outputs.settings is not exactly {algorithm, threshold, shares}")
    t, n = st["threshold"], st["shares"]
    if not (F.is_int(t) and F.is_int(n) and 2 <= t <= n <= 255):
        raise _malformed(seq, f"settings threshold {t!r} / shares {n!r}: need 2 <= t <= n <= 255")
    if not isinstance(st["algorithm"], str) or st["algorithm"] not in script.algorithms:
        raise _malformed(seq, f"settings.algorithm {st['algorithm']!r} is not in policy.algorithms")


def participants(seq, outputs, script, state):
    """§6.3: the enrolment's participants; returns {id: participant}."""
    ps = outputs.get("participants")
    if not isinstance(ps, list) or not ps:
        raise _malformed(seq, "outputs.participants is not a non-empty array")
    by_id, keys = {}, set()
    for p in ps:
        if not isinstance(p, dict) or not (PARTICIPANT_MEMBERS <= set(p) <=
                                           PARTICIPANT_MEMBERS | {"kdf", "token", "sourceId"}) \
                or ("kdf" in p) == ("token" in p):
            raise _malformed(seq, "a participant does not have exactly the members of §6.3 "
                                  "(id, name, roles, publicKey, exactly one of kdf and token, "
                                  "optionally sourceId)")
        pid = p["id"]
        if not F.full(F.PARTICIPANT_ID, pid) or pid in by_id:
            raise _malformed(seq, f"participant id {pid!r} is not a unique participant id")
        if not _nonempty_str(p["name"]):
            raise _malformed(seq, f"{pid}: name is not a non-empty string")
        roles = p["roles"]
        if not isinstance(roles, list) or not roles \
                or not all(isinstance(r, str) and r in script.roles for r in roles) \
                or len(set(roles)) != len(roles):
            raise _malformed(seq, f"{pid}: roles is not a non-empty list of distinct script roles")
        raw = F.b64(p["publicKey"])
        if "kdf" in p:  # a passphrase key (§2.4)
            if raw is None or len(raw) != 32 or not cryptox.ed25519_point_valid(raw):
                raise _malformed(seq, f"{pid}: publicKey is not a valid Ed25519 public key")
            kdf = p["kdf"]
            if not isinstance(kdf, dict) or set(kdf) != KDF_MEMBERS \
                    or kdf["algorithm"] != "scrypt" \
                    or not all(F.is_int(kdf[k]) and kdf[k] > 0 for k in ("N", "r", "p")) \
                    or not F.is_hex(kdf["salt"], 32):
                raise _malformed(seq, f"{pid}: kdf is not exactly {{scrypt, N, r, p > 0, "
                                      "salt: 32 hex}")
        else:  # a key on the participant's own token (§2.4a)
            tok = p["token"]
            if not isinstance(tok, dict) or set(tok) != TOKEN_MEMBERS \
                    or not all(isinstance(tok[k], str) for k in TOKEN_MEMBERS) \
                    or tok["algorithm"] not in TOKEN_CURVE:
                raise _malformed(seq, f"{pid}: token is not exactly {{serial, label, model: "
                                      "strings, algorithm: ECDSA-SHA256 | ECDSA-SHA384}")
            found = cryptox.token_key(raw) if raw is not None else None
            if found is None or found[0] != TOKEN_CURVE[tok["algorithm"]]:
                raise _malformed(seq, f"{pid}: publicKey is not base64 of the canonical DER "
                                      f"SPKI of an EC {TOKEN_CURVE[tok['algorithm']]} key (for "
                                      f"token.algorithm {tok['algorithm']})")
            raw = found[1]  # "unique": the key, whether its point is compressed or not
        if raw in keys:
            raise _malformed(seq, f"{pid}: publicKey is used by another participant")
        keys.add(raw)
        if "sourceId" in p and not isinstance(p["sourceId"], str):
            raise _malformed(seq, f"{pid}: sourceId is not a string")
        by_id[pid] = p

    for role, (lo, hi) in script.roles.items():
        n = sum(1 for p in ps if role in p["roles"])
        if n < lo or (hi is not None and n > hi):
            raise _malformed(seq, f"role {role}: {n} holder(s), script wants {lo}..{hi}")
    for a, b in script.separation:
        for p in ps:
            if a in p["roles"] and b in p["roles"]:
                raise _malformed(seq, f"{p['id']} holds both {a} and {b} (separation)")

    source_roles = script.source_roles()
    if source_roles:
        # the latest load-source-ceremony entry before it (§6.3); its sourceCustodians were
        # checked by §6.4b when present
        custodians = state.source.get("sourceCustodians") if state.source is not None else None
        known = {}
        for c in custodians if isinstance(custodians, list) else []:
            known.setdefault(c["id"], c["publicKey"])
        used = set()
        for p in ps:
            if not any(r in source_roles for r in p["roles"]):
                continue
            sid = p.get("sourceId")
            if sid not in known:
                raise _malformed(seq, f"{p['id']}: sourceId {sid!r} names no source custodian")
            if known[sid] != p["publicKey"]:
                raise _malformed(seq, f"{p['id']}: publicKey is not source custodian {sid}'s")
            if sid in used:
                raise _malformed(seq, f"{p['id']}: sourceId {sid} used twice")
            used.add(sid)
    return by_id


def root_key(seq, action, outputs, state):
    """§6.4: returns {spki, algorithm} of the recorded root key."""
    rk = outputs.get("rootKey")
    if not isinstance(rk, dict):
        raise _malformed(seq, "outputs.rootKey is not an object")
    spki = F.b64(rk.get("spki"))
    key = cryptox.load_spki(spki) if spki else None
    algorithm = cryptox.root_key_algorithm(key) if key is not None else None
    if algorithm is None:
        raise _malformed(seq, "rootKey.spki is not base64 of the canonical DER SPKI of an EC "
                              "P-256/P-384/P-521 key (uncompressed point) or an RSA-3072/4096 key")
    if rk.get("algorithm") != algorithm:
        raise _malformed(seq, f"rootKey.algorithm {rk.get('algorithm')!r} does not match the "
                              f"key ({algorithm})")
    if rk.get("fingerprint") != cryptox.sha256_hex(spki):
        raise _malformed(seq, "rootKey.fingerprint is not SHA-256 of the SPKI")
    if action == "generate-key-pair":
        chosen = state.opening["settings"]["algorithm"]
        if algorithm != chosen:
            raise _malformed(seq, f"a {algorithm} root key where entry 1's settings.algorithm "
                                  f"is {chosen}")
    elif action == PROVE_ROOT:
        # §6.4: "spki equals that member [outputs.sourceRootKey.spki of the latest
        # load-source-ceremony entry before it], which must exist" (compared as strings)
        src = state.source.get("sourceRootKey") if state.source is not None else None
        if not (isinstance(src, dict) and "spki" in src):
            raise _malformed(seq, "prove-root-key, but no load-source-ceremony before it records "
                                  "sourceRootKey.spki (it must exist)")
        if rk["spki"] != src["spki"]:
            raise _malformed(seq, "the proved rootKey.spki is not the source's "
                                  "sourceRootKey.spki: the token holds another key")
    else:  # collect-shares-and-restore: the source's key, when recorded
        src = state.source.get("sourceRootKey") if state.source is not None else None
        if isinstance(src, dict) and "spki" in src and rk["spki"] != src["spki"]:
            raise _malformed(seq, "the restored rootKey.spki is not the source's "
                                  "sourceRootKey.spki: a recovery restores the source's key")
    return {"spki": spki, "algorithm": algorithm}


def _certificate(seq, outputs, state):
    """§6.4a: outputs.certificate.pem is a certificate of the root key, signed by it."""
    if state.root_key is None:
        raise _malformed(seq, "a root certificate, but the ceremony has no root key yet")
    cert = outputs.get("certificate")
    pem = cert.get("pem") if isinstance(cert, dict) else None
    if not isinstance(pem, str):
        raise _malformed(seq, "outputs.certificate.pem is not a string")
    parsed = cryptox.load_certificate(pem)
    if parsed is None:
        raise _malformed(seq, "outputs.certificate.pem is not a PEM X.509 certificate")
    if cryptox.certificate_spki(parsed) != state.root_key["spki"]:
        raise _malformed(seq, "the certificate's SubjectPublicKeyInfo is not the root key")
    if not cryptox.certificate_signed_by(parsed, state.root_key["spki"]):
        raise _malformed(seq, "the certificate's signature does not verify with the root key")


def _load_source(seq, outputs):
    """§6.4b: the source's values, each checked when present."""
    if "sourceBackup" in outputs:
        sb = outputs["sourceBackup"]
        t = sb.get("threshold") if isinstance(sb, dict) else None
        if not (F.is_int(t) and 2 <= t <= 255):
            raise _malformed(seq, "outputs.sourceBackup.threshold is not an integer 2..255")
    if "sourceRootKey" in outputs:
        srk = outputs["sourceRootKey"]
        if not isinstance(srk, dict) or not isinstance(srk.get("spki"), str):
            raise _malformed(seq, "outputs.sourceRootKey.spki is not a string")
    if "sourceCustodians" in outputs:
        cs = outputs["sourceCustodians"]
        if not isinstance(cs, list) or not all(
                isinstance(c, dict) and isinstance(c.get("id"), str)
                and isinstance(c.get("publicKey"), str) for c in cs):
            raise _malformed(seq, "outputs.sourceCustodians is not a list of "
                                  "{id, publicKey, ...} with string id and publicKey")


# ---------------------------------------------------------------------------------------------
# Check 13: every signature is authorised

def signing_algorithm(participant):
    """§6.3: Ed25519 for a passphrase key (kdf), token.algorithm for a token key."""
    return participant["token"]["algorithm"] if "token" in participant else "Ed25519"


def check_authorised(seq, body, sigs, kind, state, enrolled):
    is_seal = kind == "step" and body["action"] == SEAL
    for s in sigs:
        if s["kind"] == "participant":
            p = (enrolled or {}).get(s["signer"])
            if p is None:
                raise Fail("SIGNER_NOT_AUTHORISED", seq, f"{s['signer']} is not enrolled")
            if p["publicKey"] != s["publicKey"]:
                raise Fail("SIGNER_NOT_AUTHORISED", seq,
                           f"{s['signer']} signed with another key than the enrolled one")
            if s["algorithm"] != signing_algorithm(p):
                raise Fail("SIGNER_NOT_AUTHORISED", seq,
                           f"{s['signer']} signed with {s['algorithm']}, but the enrolled key "
                           f"signs with {signing_algorithm(p)} (§6.3)")
        else:
            rk = state.root_key
            if s["signer"] != "root-key":
                raise Fail("SIGNER_NOT_AUTHORISED", seq,
                           f"a root-key signature whose signer is {s['signer']!r}")
            if not is_seal:
                raise Fail("SIGNER_NOT_AUTHORISED", seq, "a root-key signature off the seal")
            if rk is None:
                raise Fail("SIGNER_NOT_AUTHORISED", seq,
                           "a root-key signature, but the ceremony has no root key")
            if F.b64(s["publicKey"]) != rk["spki"]:
                raise Fail("SIGNER_NOT_AUTHORISED", seq, "the seal is signed by another root key")
            if s["algorithm"] != cryptox.SIGNATURE_FOR_KEY[rk["algorithm"]]:
                raise Fail("SIGNER_NOT_AUTHORISED", seq,
                           f"root-key signature algorithm {s['algorithm']} for a "
                           f"{rk['algorithm']} key")


# ---------------------------------------------------------------------------------------------
# Check 14: the required signers all signed (§7.4)

def _quorum_threshold(state):
    """§7.4: T of the latest load-source-ceremony's sourceBackup, else entry 1's settings.

    A load-source-ceremony without sourceBackup (§6.4b: "when present") gives no T of its own;
    entry 1's settings.threshold is then used.
    """
    if state.source is not None and "sourceBackup" in state.source:
        return state.source["sourceBackup"]["threshold"]
    return state.opening["settings"]["threshold"]


def _requirements_met(seq, reqs, signed, enrolled, script, state, what):
    for req in reqs:
        role, who = req["role"], req.get("who", "one")
        holders = {pid for pid, p in enrolled.items() if role in p["roles"]}
        if not holders:
            if script.roles[role][0] == 0:
                continue
            raise Fail("ATTESTATION_MISSING", seq, f"{what}: nobody holds role {role}")
        got = holders & signed
        if who == "one":
            ok, need = bool(got), "one"
        elif who == "all":
            ok, need = got == holders, "all"
        else:
            t = _quorum_threshold(state)
            ok, need = len(got) >= t, f"a quorum of {int(t)}"
        if not ok:
            raise Fail("ATTESTATION_MISSING", seq,
                       f"{what}: {need} of role {role} must sign; signed: {sorted(got)}")


def check_attested(seq, body, sigs, kind, script, state, enrolled):
    signed = {s["signer"] for s in sigs if s["kind"] == "participant"}
    enrolled = enrolled or {}
    if kind == "step":
        step = script.steps[state.cursor]
        _requirements_met(seq, step["attest"], signed, enrolled, script, state,
                          f"step {step['id']}")
        if body["action"] == ENROL:
            missing = sorted(set(enrolled) - signed)
            if missing:
                raise Fail("ATTESTATION_MISSING", seq,
                           f"enrolled participants who did not sign the enrolment: {missing}")
    elif kind == "exception":
        _requirements_met(seq, script.exceptions_attest, signed, enrolled, script, state,
                          "exception")
    elif kind == "abort" and state.enrolled is not None:
        _requirements_met(seq, script.abort_attest, signed, enrolled, script, state, "abort")
    missing = [p for p in body["requiredSigners"] if p not in signed]
    if missing:
        raise Fail("ATTESTATION_MISSING", seq, f"requiredSigners who did not sign: {missing}")
    if kind == "step" and body["action"] == SEAL and state.root_key is not None:
        if not any(s["kind"] == "root-key" for s in sigs):
            raise Fail("ATTESTATION_MISSING", seq, "the seal lacks the root key's signature")
