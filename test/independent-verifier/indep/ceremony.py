"""§7: the checks of one ceremony, in the spec's order, stopping at the first failure."""

from . import actions, cryptox, jcs, signing
from . import formats as F
from . import script as S
from .errors import Fail
from .storage import HEADER_FIELDS

BODY_MEMBERS = {"v", "ceremonyId", "seq", "stepId", "action", "inputs", "outputs",
                "requiredSigners", "timestamp", "prevHash"}
SIGNATURE_MEMBERS = {"signer", "kind", "algorithm", "publicKey", "signature"}
NOT_STEPS = {"open-ceremony": "open", "exception": "exception", "deviation": "deviation",
             "abort": "abort"}


class State:
    """What the entries checked so far have established."""

    def __init__(self):
        self.cursor = 0          # number of step entries so far (§6)
        self.enrolled = None     # {participant id: participant} from the enrolment (§6.3)
        self.root_key = None     # {"spki": bytes, "algorithm": str} (§6.4)
        self.source = None       # outputs of the latest load-source-ceremony entry
        self.opening = None      # outputs of entry 1
        self.closed_by = None    # "seal" or "abort"
        self.certificates = []   # outputs.certificate.pem of self-sign-certificate entries
        self.root_certificate = None  # §6.9: latest self-sign-certificate / sourceCertificate
        self.inputs = {}         # name -> (kind, content bytes) of the latest load-input (§6.10)
        self.hashes = []         # stored entryHash of entries 1..n
        self.first = None        # body of entry 1
        self.last_timestamp = None  # timestamp of the previous entry (check 5)
        self.last_body = None    # body of the last entry checked
        self.preflight_sides = set()  # sides of the fit hsm-preflight entries so far (§6.4c)


class Verified:
    def __init__(self, header, script, state):
        self.header = header
        self.script = script
        self.state = state

    @property
    def verdict(self):
        return {"seal": "complete", "abort": "aborted"}.get(self.state.closed_by, "incomplete")


# ---------------------------------------------------------------------------------------------
# §7.1

def _header(raw, kind):
    """§7.1.1: the header as a dict of str, or HEADER_MALFORMED."""
    if kind == "sqlite":  # columns are fixed by §4.1; values are TEXT bytes
        try:
            header = {k: v.decode("utf-8") for k, v in raw.items()}
        except UnicodeDecodeError as exc:
            raise Fail("HEADER_MALFORMED", None, "a header column is not UTF-8 text") from exc
    else:
        header = raw
        if not isinstance(header, dict):
            raise Fail("HEADER_MALFORMED", None, "the ceremony member is not an object")
        if set(header) != set(HEADER_FIELDS):
            missing = sorted(set(HEADER_FIELDS) - set(header))
            extra = sorted(set(header) - set(HEADER_FIELDS))
            raise Fail("HEADER_MALFORMED", None, f"header fields: missing {missing}, extra {extra}")
        for k in HEADER_FIELDS:
            if not isinstance(header[k], str):
                raise Fail("HEADER_MALFORMED", None, f"header {k} is not a string")
    if header["mode"] not in ("rehearsal", "production"):
        raise Fail("HEADER_MALFORMED", None, f"header mode {header['mode']!r}")
    if header["status"] not in ("open", "closed", "aborted"):
        raise Fail("HEADER_MALFORMED", None, f"header status {header['status']!r}")
    return header


def _script_hash(text):
    return cryptox.sha256_hex(text.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------------------------------
# §7.2 helpers

def _body_malformed(body):
    """§7.2.4 / §2.1: a reason, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if set(body) != BODY_MEMBERS:
        return f"body members: missing {sorted(BODY_MEMBERS - set(body))}, " \
               f"extra {sorted(set(body) - BODY_MEMBERS)}"
    if not F.only_integers(body):
        return "a number that is not an integer of at most 2^53 - 1 (§1)"
    if not F.is_int(body["v"]) or body["v"] != 2:
        return f"v is {body['v']!r}, not 2 (format version)"
    cid = body["ceremonyId"]
    if not isinstance(cid, str) or cid == "" or F.has_control(cid) or len(cid) > 100:
        return "ceremonyId is not a non-empty string of at most 100 characters without controls"
    if not F.is_int(body["seq"]) or body["seq"] < 1:
        return "seq is not a positive integer"
    if not F.full(F.STEP_ID, body["stepId"]):
        return "stepId is not a step id (§1)"
    if not F.full(F.ACTION, body["action"]):
        return "action is not an action (§1)"
    if not isinstance(body["inputs"], dict) or not isinstance(body["outputs"], dict):
        return "inputs or outputs is not an object"
    rs = body["requiredSigners"]
    if not isinstance(rs, list) or not all(F.full(F.PARTICIPANT_ID, p) for p in rs) \
            or len(set(rs)) != len(rs):
        return "requiredSigners is not an array of distinct participant ids"
    if not F.is_timestamp(body["timestamp"]):
        return "timestamp is not a real UTC instant in the §1 form"
    if not F.is_hash(body["prevHash"]):
        return "prevHash is not a hash"
    return None


def _signatures_malformed(sigs):
    """§7.2.8: the *form* of §2.3 only (a reason, or None).

    §2.3: "an object with exactly these five string members, non-empty; a `participant`
    signature has `algorithm` `Ed25519`, `ECDSA-SHA256` or `ECDSA-SHA384`; a `root-key`
    signature has `signer` `"root-key"` and one of the four root-key algorithms above". A
    participant signature's signer is not part of the form (one who is not enrolled fails check
    13). Everything about the bytes (base64, lengths, keys, an algorithm that does not fit the
    key) is check 10's.
    """
    if not isinstance(sigs, list):
        return "the signatures are not a JSON array"
    prev = None
    for s in sigs:
        if not isinstance(s, dict) or set(s) != SIGNATURE_MEMBERS \
                or not all(isinstance(v, str) and v != "" for v in s.values()):
            return "a signature is not an object of exactly five non-empty strings"
        if s["kind"] == "participant":
            if s["algorithm"] not in cryptox.PARTICIPANT_ALGORITHMS:
                return f"a participant signature with algorithm {s['algorithm']!r}"
        elif s["kind"] == "root-key":
            if s["signer"] != "root-key":
                return f"a root-key signature whose signer is {s['signer']!r}, not \"root-key\""
            if s["algorithm"] not in cryptox.ROOT_ALGORITHMS:
                return f"a root-key signature with algorithm {s['algorithm']!r}"
        else:
            return f"a signature of kind {s['kind']!r}"
        key = (s["signer"], s["kind"])
        if prev is not None and key <= prev:
            return "signatures not sorted by (signer, kind), or a duplicate"
        prev = key
    return None


def _parse_canonical(raw):
    """SQLite column bytes -> JSON value if the text is valid JSON in its own JCS form."""
    try:
        value = jcs.parse(raw.decode("utf-8"))
        if jcs.canonical(value) == raw:
            return True, value
    except (UnicodeDecodeError, ValueError):
        pass
    return False, None


def _kind(seq, body, script, state):
    """§7.2.11: which kind of entry this is, if it is allowed here; else OUT_OF_ORDER."""
    action, steps = body["action"], script.steps
    if seq == 1:
        if action != "open-ceremony":
            raise Fail("OUT_OF_ORDER", seq, "entry 1 is not the opening (open-ceremony)")
        if body["stepId"] != steps[0]["id"]:  # §6.1: stepId = steps[0].id (check 11)
            raise Fail("OUT_OF_ORDER", seq, f"the opening's stepId {body['stepId']!r} is not "
                                            f"the first step's {steps[0]['id']!r}")
        return "open"
    if action == "open-ceremony":
        raise Fail("OUT_OF_ORDER", seq, "an opening entry after entry 1")
    if state.cursor >= len(steps):  # cannot happen after the seal check, kept for safety
        raise Fail("OUT_OF_ORDER", seq, "every script step is already recorded")
    step = steps[state.cursor]
    if action in NOT_STEPS:
        if body["stepId"] != step["id"]:
            raise Fail("OUT_OF_ORDER", seq, f"{action} with stepId {body['stepId']!r} while "
                                            f"step {step['id']!r} is in progress")
        if action == "exception" and state.enrolled is None:
            raise Fail("OUT_OF_ORDER", seq, "an exception before the enrolment")
        return NOT_STEPS[action]
    if body["stepId"] != step["id"] or action != step["action"]:
        raise Fail("OUT_OF_ORDER", seq, f"step entry {body['stepId']}/{action} where the script "
                                        f"has {step['id']}/{step['action']}")
    return "step"


# ---------------------------------------------------------------------------------------------
# §7.2: one entry

def _entry(i, e, cer, header, script, state, prev_hash):
    # 1
    if not F.is_int(e.seq) or e.seq != i:
        raise Fail("SEQUENCE", i, f"stored seq {e.seq!r} at position {i}")
    # 2
    if state.closed_by:
        raise Fail("AFTER_CLOSE", i, f"an entry after the {state.closed_by}")
    # 3
    if cer.kind == "sqlite":
        ok, body = _parse_canonical(e.body_text)
        if not ok:
            raise Fail("BODY_NOT_CANONICAL", i, "body_json is not valid JSON in its JCS form")
    else:
        body = e.body
    # 4
    reason = _body_malformed(body)
    if reason:
        raise Fail("BODY_MALFORMED", i, reason)
    # 5
    if body["seq"] != i:
        raise Fail("BODY_MISMATCH", i, f"body.seq is {int(body['seq'])}")
    if body["ceremonyId"] != header["id"]:
        raise Fail("BODY_MISMATCH", i, "body.ceremonyId is not the header's id")
    if cer.kind == "sqlite" and (e.step_id != body["stepId"] or e.action != body["action"]):
        raise Fail("BODY_MISMATCH", i, "the step_id/action columns disagree with the body")
    if state.last_timestamp is not None and body["timestamp"] < state.last_timestamp:
        # §2.1 / check 5: never earlier than the previous entry's (the fixed form of §1
        # compares as text)
        raise Fail("BODY_MISMATCH", i, f"timestamp {body['timestamp']} is earlier than the "
                                       f"previous entry's {state.last_timestamp}")
    # 6
    if e.body_hash != cryptox.sha256_hex(e.body_text):
        raise Fail("BODY_HASH_MISMATCH", i, "the stored bodyHash is not SHA-256 of the body")
    # 7
    if body["prevHash"] != prev_hash:
        raise Fail("CHAIN_BROKEN", i, "prevHash is not the previous entry's entryHash")
    # 8
    if cer.kind == "sqlite":
        ok, sigs = _parse_canonical(e.sigs_text)
        if not ok:
            raise Fail("SIGNATURES_MALFORMED", i, "signatures_json is not JSON in its JCS form")
    else:
        sigs = e.sigs
    reason = _signatures_malformed(sigs)
    if reason:
        raise Fail("SIGNATURES_MALFORMED", i, reason)
    # 9
    if e.entry_hash != cryptox.entry_hash(e.body_hash, sigs):
        raise Fail("ENTRY_HASH_MISMATCH", i, "the stored entryHash is not the hash of §2.2")
    # 10: everything about the bytes (§2.3): strict base64, lengths, keys, the signature
    msg = cryptox.message(e.body_hash)
    for s in sigs:
        pub, sig = F.b64(s["publicKey"]), F.b64(s["signature"])
        if pub is None or sig is None:
            raise Fail("SIGNATURE_INVALID", i,
                       f"the signature by {s['signer']}: publicKey or signature is not canonical "
                       "base64")
        ok = cryptox.verify_participant(s["algorithm"], pub, sig, msg) \
            if s["kind"] == "participant" else cryptox.verify_root(s["algorithm"], pub, sig, msg)
        if not ok:
            raise Fail("SIGNATURE_INVALID", i, f"the signature by {s['signer']} does not verify")
    # 11
    kind = _kind(i, body, script, state)
    # 12
    actions.check_rules(i, body, sigs, kind, script, state, header)
    enrolling = kind == "step" and body["action"] == S.ENROL
    enrolled = actions.participants(i, body["outputs"], script, state) if enrolling \
        else state.enrolled
    # 13
    actions.check_authorised(i, body, sigs, kind, state, enrolled)
    # 14
    actions.check_attested(i, body, sigs, kind, script, state, enrolled)
    _advance(i, body, kind, state, enrolled)


def _advance(i, body, kind, state, enrolled):
    """The entry passed: record what it establishes (§6)."""
    action, outputs = body["action"], body["outputs"]
    state.last_timestamp = body["timestamp"]
    state.last_body = body
    if kind == "open":
        state.opening = outputs
        state.first = body
    elif kind == "abort":
        state.closed_by = "abort"
    elif kind == "step":
        state.cursor += 1
        if action == S.ENROL:
            state.enrolled = enrolled
        elif action in actions.ROOT_KEY_ACTIONS:
            state.root_key = actions.root_key(i, action, outputs, state)
        elif action == actions.LOAD_SOURCE:
            state.source = outputs
            sc = outputs.get("sourceCertificate")
            if isinstance(sc, dict) and isinstance(sc.get("pem"), str):  # §6.9 root certificate
                state.root_certificate = sc["pem"]
        elif action == actions.SELF_SIGN:  # tied to the root key by §6.4a (check 12)
            state.certificates.append(outputs["certificate"]["pem"])
            state.root_certificate = outputs["certificate"]["pem"]  # §6.9
        elif action == actions.LOAD_INPUT:  # §6.10: the latest load-input of a name counts
            name, input_kind, content = signing.load_input(i, outputs)
            state.inputs[name] = (input_kind, content)
        elif action == S.SEAL:
            state.closed_by = "seal"


# ---------------------------------------------------------------------------------------------
# §7.1 - §7.5.2 for one ceremony

def verify(cer):
    """Run §7.1, §7.2 and §7.5.1-2 on a storage.Ceremony. Returns Verified, or raises Fail."""
    header = _header(cer.header, cer.kind)                                  # 7.1.1
    if _script_hash(header["scriptText"]) != header["scriptSha256"]:        # 7.1.2
        raise Fail("SCRIPT_HASH_MISMATCH", None,
                   "SHA-256 of the script text is not the header's scriptSha256")
    script = S.read(header["scriptText"])                                   # 7.1.3
    if not cer.entries:                                                     # 7.1.4
        raise Fail("NO_ENTRIES", None, "the ceremony has no entry")

    state = State()
    prev_hash = F.GENESIS
    for i, e in enumerate(cer.entries, 1):                                  # 7.2
        _entry(i, e, cer, header, script, state, prev_hash)
        prev_hash = e.entry_hash
        state.hashes.append(e.entry_hash)

    _header_matches(header, script, state)                                  # 7.5.1
    if cer.kind == "bundle" and cer.head != state.hashes[-1]:              # 7.5.2
        raise Fail("HEAD_MISMATCH", None, "the bundle's head is not its last entry's entryHash")
    return Verified(header, script, state)


def _header_matches(header, script, state):
    """§7.5.1 / §3, field by field in the table's order."""
    status = "closed" if state.closed_by == "seal" else \
        "aborted" if state.closed_by == "abort" else "open"
    expected = [
        ("id", state.first["ceremonyId"]),
        ("scriptId", script.id),
        ("scriptVersion", script.version),
        ("scriptTitle", script.title),
        ("scriptSha256", state.opening["scriptSha256"]),
        ("mode", state.opening["mode"]),
        ("status", status),
        ("createdAt", state.first["timestamp"]),
    ]
    for field, value in expected:
        if header[field] != value:
            raise Fail("HEADER_MISMATCH", None,
                       f"header {field} is {header[field]!r}, the entries say {value!r}")
