"""Test helper: make variants of the valid vectors that break exactly one rule.

The vectors' private keys are not available, so a variant is *re-keyed*: every participant gets a
fresh Ed25519 key and the root key a fresh key of the same algorithm (with a fresh self-signed
certificate); every old public key, SPKI and fingerprint string is replaced wherever it occurs;
then the chain is rebuilt from entry 1 (prevHash, bodyHash, signatures, entryHash, head). A
mutation runs on the decoded bundle *before* the re-signing (so the variant is signed and
chained, and only the mutated rule breaks) or *after* it (to tamper with hashes or signatures).

Written from the spec (§2.2, §2.3, §4.2, §6.4, §6.4a, §8) like the verifier; it shares only the
JCS module with it.
"""

import base64
import copy
import datetime
import hashlib
import json
import os
import sys
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from indep import jcs  # noqa: E402

VECTORS = os.path.join(HERE, "..", "..", "vectors")
CURVES = {"EC-P256": (ec.SECP256R1, hashes.SHA256, 32, "ECDSA-SHA256"),
          "EC-P384": (ec.SECP384R1, hashes.SHA384, 48, "ECDSA-SHA384"),
          "EC-P521": (ec.SECP521R1, hashes.SHA512, 66, "ECDSA-SHA512")}


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def sha256_hex(raw):
    return hashlib.sha256(raw).hexdigest()


def load(name):
    with open(os.path.join(VECTORS, name), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def dump(bundle):
    return jcs.canonical(bundle) + b"\n"


def spki_of(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def ec_key(algorithm):
    return ec.generate_private_key(CURVES[algorithm][0]())


def self_signed(key, signer=None, cn="Test Root CA"):
    """A PEM certificate for key's public key, signed by signer (default: key itself)."""
    signer = signer or key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(12345)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(signer, hashes.SHA384()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def root_sign(key, algorithm, message):
    curve, hash_cls, n, _ = CURVES[algorithm]
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hash_cls())))
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


class Forger:
    """Re-keys a bundle and re-signs it after a mutation."""

    def __init__(self, bundle):
        self.bundle = copy.deepcopy(bundle)
        self.keys = {}      # participant id -> Ed25519 private key
        self.root = None    # (private key, algorithm)
        self._rekey()

    def _replace_everywhere(self, old, new):
        def walk(v):
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            return new if v == old else v
        self.bundle["entries"] = walk(self.bundle["entries"])

    def _rekey(self):
        for e in self.bundle["entries"]:
            body = e["body"]
            if body["action"] == "enrol-participants":
                for p in body["outputs"]["participants"]:
                    k = ed25519.Ed25519PrivateKey.generate()
                    self.keys[p["id"]] = k
                    new = b64(k.public_key().public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw))
                    self._replace_everywhere(p["publicKey"], new)
        for e in self.bundle["entries"]:
            body = e["body"]
            rk = body["outputs"].get("rootKey") if body["action"] in (
                "generate-key-pair", "collect-shares-and-restore") else None
            if rk:
                alg = rk["algorithm"]
                key = ec_key(alg)
                spki = spki_of(key)
                old_spki, old_fp = rk["spki"], rk["fingerprint"]
                self._replace_everywhere(old_spki, b64(spki))
                self._replace_everywhere(old_fp, sha256_hex(spki))
                self.root = (key, alg)
        for e in self.bundle["entries"]:
            body = e["body"]
            if body["action"] == "self-sign-certificate" and self.root:
                body["outputs"]["certificate"]["pem"] = self_signed(self.root[0])

    def resign(self, after=None):
        """Rebuild hashes and signatures; `after(bundle)` may tamper afterwards. Returns bytes."""
        b = self.bundle
        prev = "0" * 64
        for e in b["entries"]:
            body = e["body"]
            body["prevHash"] = prev
            bh = sha256_hex(jcs.canonical(body))
            msg = ("custos-attestation-v2\n" + bh).encode("utf-8")
            sigs = []
            for s in e["signatures"]:
                s = dict(s)
                if s["kind"] == "participant" and s["signer"] in self.keys:
                    k = self.keys[s["signer"]]
                    s["publicKey"] = b64(k.public_key().public_bytes(
                        serialization.Encoding.Raw, serialization.PublicFormat.Raw))
                    s["signature"] = b64(k.sign(msg))
                elif s["kind"] == "root-key" and self.root:
                    key, alg = self.root
                    s["publicKey"] = b64(spki_of(key))
                    s["algorithm"] = CURVES[alg][3]
                    s["signature"] = b64(root_sign(key, alg, msg))
                sigs.append(s)
            sigs.sort(key=lambda s: (s["signer"], s["kind"]))
            e["signatures"] = sigs
            e["bodyHash"] = bh
            e["entryHash"] = sha256_hex(jcs.canonical({"bodyHash": bh, "signatures": sigs}))
            prev = e["entryHash"]
        b["head"] = prev
        if after:
            after(b)
        return dump(b)

    def sign_as(self, pid, entry):
        """A participant signature by pid's key over entry's current body (after resign)."""
        bh = entry["bodyHash"]
        msg = ("custos-attestation-v2\n" + bh).encode("utf-8")
        k = self.keys[pid]
        return {"signer": pid, "kind": "participant", "algorithm": "Ed25519",
                "publicKey": b64(k.public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw)),
                "signature": b64(k.sign(msg))}

    def set_script(self, text):
        """Replace the script text and every hash of it (header and entry 1)."""
        sha = sha256_hex(text.encode("utf-8"))
        self.bundle["ceremony"]["scriptText"] = text
        self.bundle["ceremony"]["scriptSha256"] = sha
        self.bundle["entries"][0]["body"]["outputs"]["scriptSha256"] = sha


# ---------------------------------------------------------------------------------------------
# Minimal PDFs (one page of text lines, embedded files), written by hand

def _esc(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(lines, attachments, incremental=False):
    """A one-page PDF showing `lines` (Helvetica) and embedding [(name, bytes)]."""
    objs = []

    def add(body):
        objs.append(body)
        return len(objs)

    content = "BT /F1 9 Tf 40 800 Td 11 TL " + " ".join(
        f"({_esc(ln)}) Tj T*" for ln in lines) + " ET"
    stream = content.encode("latin-1")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    cont = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    pages_num = len(objs) + 2
    page = add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
               b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_num, cont, font))
    add(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    names = []
    for name, data in attachments:
        comp = zlib.compress(data)
        ef = add(b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n"
                 % len(comp) + comp + b"\nendstream")
        spec = add(b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>"
                   % (name.encode(), name.encode(), ef))
        names.append(b"(%s) %d 0 R" % (name.encode(), spec))
    tree = b"<< /Names [" + b" ".join(names) + b"] >>"
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R /Names << /EmbeddedFiles %s >> >>"
                  % (pages_num, tree))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, catalog, xref)
    if incremental:
        out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objs) + 1, catalog, xref, xref)
    return bytes(out)


def binding(bundle_obj, **override):
    """The §8 rule 3 lines for a bundle (dict), with values overridden by keyword."""
    c = bundle_obj["ceremony"]
    last = bundle_obj["entries"][-1]["body"]["action"]
    vals = {"custos-report-binding": "2", "ceremony": c["id"], "mode": c["mode"],
            "script-sha256": c["scriptSha256"], "entries": str(len(bundle_obj["entries"])),
            "head": bundle_obj["head"],
            "closed": {"seal-transcript": "seal", "abort": "abort"}.get(last, "no")}
    vals.update({k.replace("_", "-"): v for k, v in override.items()})
    return [f"{k}: {v}" for k, v in vals.items() if v is not None]
