"""Test helper: make variants of the valid vectors that break exactly one rule.

The vectors' private keys are not available, so a variant is *re-keyed*: every participant gets a
fresh Ed25519 key (a token key, §2.4a, a fresh EC key of its token's algorithm) and the root key a fresh key of the same algorithm (with a fresh self-signed
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

# INDEP_VECTORS: another copy of test/vectors (e.g. `git archive HEAD test/vectors`), for a
# stable run while the checkout's vectors are being regenerated.
VECTORS = os.environ.get("INDEP_VECTORS") or os.path.join(HERE, "..", "..", "vectors")
# §2.4a: token key algorithms (ECDSA-SHA512 only to forge variants that break the rule)
TOKEN_CURVES = {"ECDSA-SHA256": "EC-P256", "ECDSA-SHA384": "EC-P384", "ECDSA-SHA512": "EC-P521"}
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


def issue(subject_public_key, signer, algorithm, cn="Test Intermediate CA",
          issuer_cn="Test Root CA", hash_cls=None):
    """A PEM certificate for subject_public_key, issued (signed) by the private key `signer`,
    hashed as §2.3 pairs `algorithm` unless hash_cls is given."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
            .public_key(subject_public_key).serial_number(777)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
            .sign(signer, (hash_cls or CURVES[algorithm][1])()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def crl(signer, algorithm, hash_cls=None, issuer_cn="Test Root CA", label=None):
    """A PEM CRL revoking one serial, signed by `signer`, hashed as §2.3 pairs `algorithm`
    unless hash_cls is given; `label` replaces the PEM label."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    revoked = (x509.RevokedCertificateBuilder().serial_number(0x0a1b2c)
               .revocation_date(now).build())
    built = (x509.CertificateRevocationListBuilder()
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
             .last_update(now).next_update(now + datetime.timedelta(days=30))
             .add_revoked_certificate(revoked)
             .sign(signer, (hash_cls or CURVES[algorithm][1])()))
    pem = built.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return pem.replace("X509 CRL", label) if label else pem


def _refile(outputs, pem):
    """§6.10: the first recorded file is the PEM written."""
    if isinstance(outputs.get("files"), list) and outputs["files"]:
        outputs["files"][0]["sha256"] = sha256_hex(pem.encode("utf-8"))


def _aki(key):
    return x509.AuthorityKeyIdentifier(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest, None, None)


def reissue_root(old_pem, key, algorithm):
    """The root certificate old_pem (subject, validity) for `key`, self-signed."""
    old = x509.load_pem_x509_certificate(old_pem.encode())
    cert = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.subject)
            .public_key(key.public_key()).serial_number(old.serial_number)
            .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc)
            .sign(key, CURVES[algorithm][1]()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def reissue(old_pem, root_pem, key, algorithm, hash_cls=None, public_key=None, subject=None):
    """old_pem's certificate (subject, key, serial, validity, extensions; the AKI of the new
    root), issued by the root certificate root_pem with `key`; with another subject key and
    subject when given (its subjectKeyIdentifier follows the key)."""
    old = x509.load_pem_x509_certificate(old_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    public_key = public_key or old.public_key()
    b = (x509.CertificateBuilder().subject_name(subject or old.subject).issuer_name(root.subject)
         .public_key(public_key).serial_number(old.serial_number)
         .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc))
    for ext in old.extensions:
        value = ext.value
        if isinstance(value, x509.AuthorityKeyIdentifier):
            value = _aki(key)
        elif isinstance(value, x509.SubjectKeyIdentifier):
            value = x509.SubjectKeyIdentifier.from_public_key(public_key)
        b = b.add_extension(value, ext.critical)
    return b.sign(key, (hash_cls or CURVES[algorithm][1])()).public_bytes(
        serialization.Encoding.PEM).decode("ascii")


def recrl(old_pem, root_pem, key, algorithm):
    """old_pem's CRL (times, entries, number; the AKI of the new root) issued again."""
    old = x509.load_pem_x509_crl(old_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    b = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
         .last_update(old.last_update_utc).next_update(old.next_update_utc))
    for r in old:
        b = b.add_revoked_certificate(r)
    for ext in old.extensions:
        value = _aki(key) if isinstance(ext.value, x509.AuthorityKeyIdentifier) else ext.value
        b = b.add_extension(value, ext.critical)
    return b.sign(key, CURVES[algorithm][1]()).public_bytes(
        serialization.Encoding.PEM).decode("ascii")


def csr(key, cn="Test Intermediate CA", encoding=serialization.Encoding.PEM):
    """A PKCS#10 request for key (bytes, PEM or DER)."""
    req = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    return req.public_bytes(encoding)


def root_sign(key, algorithm, message):
    curve, hash_cls, n, _ = CURVES[algorithm]
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hash_cls())))
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


class Forger:
    """Re-keys a bundle and re-signs it after a mutation."""

    def __init__(self, bundle):
        self.bundle = copy.deepcopy(bundle)
        self.keys = {}      # participant id -> Ed25519 (or, token keys, EC) private key
        self.key_algorithms = {}  # participant id -> ECDSA-SHA256/384 for token keys (§2.4a)
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
                    if "token" in p:  # §2.4a: an EC key of the token's algorithm
                        self.key_algorithms[p["id"]] = p["token"]["algorithm"]
                        self.keys[p["id"]] = ec_key(TOKEN_CURVES[p["token"]["algorithm"]])
                    else:
                        self.keys[p["id"]] = ed25519.Ed25519PrivateKey.generate()
                    self._replace_everywhere(p["publicKey"], self.public_key(p["id"]))
        for e in self.bundle["entries"]:
            body = e["body"]
            rk = body["outputs"].get("rootKey") if body["action"] in (
                "generate-key-pair", "collect-shares-and-restore", "prove-root-key") else None
            if rk:
                alg = rk["algorithm"]
                key = ec_key(alg)
                spki = spki_of(key)
                old_spki, old_fp = rk["spki"], rk["fingerprint"]
                self._replace_everywhere(old_spki, b64(spki))
                self._replace_everywhere(old_fp, sha256_hex(spki))
                self.root = (key, alg)
        root_cert = None
        for e in self.bundle["entries"]:
            body = e["body"]
            out = body["outputs"]
            if body["action"] == "self-sign-certificate" and self.root:
                out["certificate"]["pem"] = root_cert = self_signed(self.root[0])
            elif body["action"] == "load-source-ceremony" and self.root and \
                    isinstance(out.get("sourceCertificate"), dict):
                # §6.9: the source's root certificate, of the new root key
                out["sourceCertificate"]["pem"] = root_cert = reissue_root(
                    out["sourceCertificate"]["pem"], self.root[0], self.root[1])
            elif body["action"] == "prove-root-key" and self.root and "proof" in out:
                # §6.4: the proof, by the new root key over this ceremony's challenge
                challenge = (f"Custos root key proof\nceremony {body['ceremonyId']}\nkey "
                             f"{out['rootKey']['fingerprint']}\n").encode() + bytes(32)
                out["proof"].update(challenge=b64(challenge),
                                    signature=b64(root_sign(self.root[0], self.root[1], challenge)))
            elif body["action"] in ("sign-certificate", "cross-certify") and self.root:
                # §6.10: the same certificate, issued again by the new root
                pem = reissue(out["certificate"]["pem"], root_cert, self.root[0], self.root[1])
                der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
                out["certificate"].update(pem=pem, sha256=sha256_hex(der))
                _refile(out, pem)
            elif body["action"] == "issue-crl" and self.root:
                pem = recrl(out["crl"]["pem"], root_cert, self.root[0], self.root[1])
                der = x509.load_pem_x509_crl(pem.encode()).public_bytes(serialization.Encoding.DER)
                out["crl"].update(pem=pem, sha256=sha256_hex(der))
                _refile(out, pem)

    def certify(self, seq, public_key, subject):
        """Entry seq's certificate issued again by the (re-keyed) root for another key and
        subject, under the same profile, recorded consistently (§6.10)."""
        out = self.bundle["entries"][seq - 1]["body"]["outputs"]
        root_pem = next(e["body"]["outputs"]["sourceCertificate"]["pem"]
                        for e in self.bundle["entries"]
                        if e["body"]["action"] == "load-source-ceremony")
        pem = reissue(out["certificate"]["pem"], root_pem, self.root[0], self.root[1],
                      public_key=public_key, subject=subject)
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        spki = public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        out["certificate"].update(pem=pem, sha256=sha256_hex(der), spkiSha256=sha256_hex(spki))
        _refile(out, pem)

    def seq_of(self, action):
        """The seq of the first entry with this action."""
        return next(e["body"]["seq"] for e in self.bundle["entries"]
                    if e["body"]["action"] == action)

    def set_input(self, seq, content, **members):
        """Record `content` (bytes) as load-input entry seq's file, with its hash."""
        inp = self.bundle["entries"][seq - 1]["body"]["outputs"]["input"]
        inp.update(content=b64(content), sha256=sha256_hex(content), **members)
        if "bytes" in inp:
            inp["bytes"] = len(content)
        for e in self.bundle["entries"]:  # §6.10: issuances name the input by its hash too
            i = e["body"]["inputs"]
            if i.get("input") == inp.get("name") and "inputSha256" in i:
                i["inputSha256"] = sha256_hex(content)

    def insert_copy(self, seq, **body_changes):
        """Insert a copy of entry seq right after it (its body changed by body_changes);
        renumber the later ones and the seal's sealedEntries. Returns the copy's seq."""
        e = copy.deepcopy(self.bundle["entries"][seq - 1])
        e["body"].update(body_changes)
        self.bundle["entries"].insert(seq, e)
        for n, x in enumerate(self.bundle["entries"], 1):
            x["body"]["seq"] = n
            if x["body"]["action"] == "seal-transcript":
                x["body"]["outputs"]["sealedEntries"] = n - 1
        return seq + 1

    def drop_entry(self, seq):
        """Remove entry seq; renumber the later ones and the seal's sealedEntries."""
        del self.bundle["entries"][seq - 1]
        for n, e in enumerate(self.bundle["entries"], 1):
            e["body"]["seq"] = n
            if e["body"]["action"] == "seal-transcript":
                e["body"]["outputs"]["sealedEntries"] = n - 1

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
                    s.update(self.sign_as(s["signer"], msg=msg))
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

    def public_key(self, pid):
        """pid's publicKey as recorded: raw Ed25519 bytes, or a token key's SPKI DER (base64)."""
        k = self.keys[pid]
        if pid in self.key_algorithms:
            return b64(spki_of(k))
        return b64(k.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw))

    def sign_as(self, pid, entry=None, msg=None):
        """A participant signature by pid's key over entry's current body (after resign), or
        over msg."""
        if msg is None:
            msg = ("custos-attestation-v2\n" + entry["bodyHash"]).encode("utf-8")
        k, alg = self.keys[pid], self.key_algorithms.get(pid, "Ed25519")
        sig = k.sign(msg) if alg == "Ed25519" else root_sign(k, TOKEN_CURVES[alg], msg)
        return {"signer": pid, "kind": "participant", "algorithm": alg,
                "publicKey": self.public_key(pid), "signature": b64(sig)}

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


def pdf(lines, attachments, incremental=False, annotations=()):
    """A one-page PDF showing `lines` (Helvetica), embedding [(name, bytes)] in the
    EmbeddedFiles name tree and [(name, bytes)] as FileAttachment annotations of the page."""
    objs = []

    def add(body):
        objs.append(body)
        return len(objs)

    content = "BT /F1 9 Tf 40 800 Td 11 TL " + " ".join(
        f"({_esc(ln)}) Tj T*" for ln in lines) + " ET"
    stream = content.encode("latin-1")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    cont = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    def filespec(name, data):
        comp = zlib.compress(data)
        ef = add(b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n"
                 % len(comp) + comp + b"\nendstream")
        return add(b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>"
                   % (name.encode(), name.encode(), ef))

    annots = [add(b"<< /Type /Annot /Subtype /FileAttachment /Rect [40 40 60 60] /FS %d 0 R "
                  b"/Contents (%s) >>" % (filespec(name, data), name.encode()))
              for name, data in annotations]
    pages_num = len(objs) + 2
    annot_refs = b" ".join(b"%d 0 R" % a for a in annots)
    page = add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
               b"/Resources << /Font << /F1 %d 0 R >> >> /Annots [%s] >>"
               % (pages_num, cont, font, annot_refs))
    add(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    names = []
    for name, data in attachments:
        spec = filespec(name, data)
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
