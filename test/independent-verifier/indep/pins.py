"""§10: pins, the values an auditor knows from outside the file (check §7.5.4)."""

from . import cryptox
from . import formats as F
from .errors import Fail


class Pins:
    def __init__(self, head=None, entries=(), script_sha256=None, root_fingerprint=None,
                 participants=()):
        self.head = head
        self.entries = list(entries)            # [(seq:int, hex)]
        self.script_sha256 = script_sha256
        self.root_fingerprint = root_fingerprint
        self.participants = list(participants)  # [(id, fingerprint)]

    def __bool__(self):
        return bool(self.head or self.entries or self.script_sha256 or self.root_fingerprint
                    or self.participants)


def root_fingerprints(state):
    """The SHA-256 values --expect-root-fingerprint may match (§10).

    The ceremony's root key (SPKI SHA-256), or the DER SHA-256 of a certificate recorded by
    self-sign-certificate (which §6.4a ties to the root key: check 12 refused any other); for a
    ceremony that records no root key of its own, the SHA-256 of the source's root key
    (sourceRootKey.spki, base64-decoded; its `fingerprint` member is not believed).
    """
    found = {}
    if state.root_key is not None:
        found[cryptox.sha256_hex(state.root_key["spki"])] = "root key SPKI"
        for pem in state.certificates:
            cert = cryptox.load_certificate(pem)
            # A certificate of an earlier root key (a script with two key steps) does not count.
            if cert is not None and cryptox.certificate_spki(cert) == state.root_key["spki"]:
                found[cryptox.certificate_sha256(cert)] = "root certificate DER"
    elif state.source is not None:
        srk = state.source.get("sourceRootKey")
        spki = F.b64(srk.get("spki")) if isinstance(srk, dict) else None
        if spki:
            found[cryptox.sha256_hex(spki)] = "source root key SPKI"
    return found


def check(pins, verified):
    """Return the list of pin results; raise Fail(PIN_MISMATCH) after listing them all."""
    st = verified.state
    results = []

    def add(name, value, held, detail=""):
        results.append({"pin": name, "value": value, "held": bool(held),
                        **({"detail": detail} if detail else {})})

    if pins.head is not None:
        add("expect-head", pins.head, F.hex_pin(pins.head) == st.hashes[-1])
    for seq, hx in pins.entries:
        ok = 1 <= seq <= len(st.hashes) and st.hashes[seq - 1] == F.hex_pin(hx)
        add(f"expect-entry {seq}", hx, ok, "" if 1 <= seq <= len(st.hashes) else "no such entry")
    if pins.script_sha256 is not None:
        v = F.hex_pin(pins.script_sha256)
        add("expect-script-sha256", pins.script_sha256,
            v == verified.header["scriptSha256"] == st.opening["scriptSha256"])
    if pins.root_fingerprint is not None:
        found = root_fingerprints(st)
        v = F.hex_pin(pins.root_fingerprint)
        add("expect-root-fingerprint", pins.root_fingerprint, v in found, found.get(v, ""))
    for pid, fpr in pins.participants:
        p = (st.enrolled or {}).get(pid)
        raw = F.b64(p["publicKey"]) if p else None
        ok = raw is not None and cryptox.participant_fingerprint(raw) == F.hex_pin(fpr)
        add(f"expect-participant {pid}", fpr, ok, "" if p else "not enrolled")

    failed = [r["pin"] for r in results if not r["held"]]
    if failed:
        err = Fail("PIN_MISMATCH", None, "pin(s) that do not hold: " + ", ".join(failed))
        err.pins = results
        raise err
    return results
