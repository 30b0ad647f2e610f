"""Each rule of the revised spec, broken on purpose in a re-keyed, re-signed copy of a valid
vector (tests/forge.py), must give the expected verdict, code and entry.

    python3 -m unittest discover -s test/independent-verifier/tests
"""

import importlib.util
import json
import os
import re
import shutil
import tempfile
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from forge import (Forger, binding, crl, csr, dump, ec_key, issue, load, pdf, self_signed, b64,
                   spki_of, sha256_hex)

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("verify", os.path.join(HERE, "..", "verify.py"))
verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify)

HAS_POPPLER = shutil.which("pdfdetach") and shutil.which("pdftotext")


def run(data, *options, suffix=".json"):
    tmp = tempfile.mkdtemp(prefix="indep-test-")
    try:
        path = os.path.join(tmp, "file" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        return verify.run(verify.parse_args([path, *options]))
    finally:
        shutil.rmtree(tmp)


def entry(b, seq):
    return b["entries"][seq - 1]


def body(b, seq):
    return b["entries"][seq - 1]["body"]


class Base(unittest.TestCase):
    source = "valid/generation.bundle.json"

    def forger(self):
        return Forger(load(self.source))

    def expect(self, data, verdict, code=None, seq=None, *options, suffix=".json"):
        got = run(data, *options, suffix=suffix)
        self.assertEqual((got["verdict"], got.get("code"), got.get("seq")),
                         (verdict, code, seq), got.get("reason"))
        return got


class ReKeyed(Base):
    def test_rekeyed_copy_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_rekeyed_copy_fails_the_genuine_root_pin(self):
        genuine = load(self.source)
        fp = body(genuine, 8)["outputs"]["rootKey"]["fingerprint"]
        self.expect(self.forger().resign(), "not-intact", "PIN_MISMATCH", None,
                    "--expect-root-fingerprint", fp)


class Numbers(Base):
    def test_action_pattern(self):  # §1: an action matches the identifier pattern
        f = self.forger()
        body(f.bundle, 2)["action"] = "Checklist"
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", 2)

    def test_exponent_in_bundle(self):  # §1: read as doubles, 3e0 is not canonical
        data = self.forger().resign().replace(b'"threshold":2', b'"threshold":2e0', 1)
        self.expect(data, "not-intact", "BUNDLE_NOT_CANONICAL")

    def test_beyond_safe_integer(self):  # 2^53 prints canonically but is out of range
        f = self.forger()
        body(f.bundle, 2)["outputs"]["n"] = 2 ** 53
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", 2)

    def test_ceremony_id_length(self):  # §2.1: at most 100 characters
        for n, verdict in ((100, ("complete", None, None)),
                           (101, ("not-intact", "BODY_MALFORMED", 1))):
            f = self.forger()
            cid = ("c" * n)
            for e in f.bundle["entries"]:
                e["body"]["ceremonyId"] = cid
            f.bundle["ceremony"]["id"] = cid
            self.expect(f.resign(), *verdict)

    def test_control_character_in_ceremony_id(self):
        f = self.forger()
        for e in f.bundle["entries"]:
            e["body"]["ceremonyId"] += "\u0085"
        f.bundle["ceremony"]["id"] += "\u0085"
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", 1)


class Timestamps(Base):
    def test_backwards(self):
        f = self.forger()
        body(f.bundle, 6)["timestamp"] = body(f.bundle, 5)["timestamp"].replace(":04:", ":03:")
        self.expect(f.resign(), "not-intact", "BODY_MISMATCH", 6)

    def test_equal_is_allowed(self):
        f = self.forger()
        body(f.bundle, 6)["timestamp"] = body(f.bundle, 5)["timestamp"]
        self.expect(f.resign(), "complete")

    def test_not_a_real_instant(self):
        f = self.forger()
        body(f.bundle, 6)["timestamp"] = "2026-02-30T09:05:05.000Z"
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", 6)


class SignatureForm(Base):
    """§2.3: form is check 8, bytes are check 10."""

    def tamper(self, seq, **change):
        """Change the first signature of entry `seq` (the last one) after signing; the entry
        hash and the head follow, so check 8 or 10 is the first to see it."""
        f = self.forger()

        def after(b):
            e = entry(b, seq)
            e["signatures"][0].update(change)
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        return f, f.resign(after)

    def test_empty_member(self):
        _, data = self.tamper(16, signer="")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", 16)

    def test_unknown_algorithm(self):
        _, data = self.tamper(16, algorithm="Ed448")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", 16)

    def test_root_algorithm_on_participant(self):  # §2.3: only the root's ECDSA-SHA512 / RSA
        for alg in ("ECDSA-SHA512", "RSA-PKCS1-SHA256"):
            _, data = self.tamper(16, algorithm=alg)
            self.expect(data, "not-intact", "SIGNATURES_MALFORMED", 16)

    def test_token_algorithm_on_ed25519_key(self):  # §2.4a: the form holds, the bytes do not
        _, data = self.tamper(16, algorithm="ECDSA-SHA256")
        self.expect(data, "not-intact", "SIGNATURE_INVALID", 16)

    def test_unknown_kind(self):
        _, data = self.tamper(16, kind="witness")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", 16)

    def test_non_canonical_base64_is_invalid(self):  # bytes: check 10
        _, data = self.tamper(16, signature="!!!!")
        self.expect(data, "not-intact", "SIGNATURE_INVALID", 16)

    def test_short_key_is_invalid(self):
        _, data = self.tamper(16, publicKey=b64(b"\x01" * 31))
        self.expect(data, "not-intact", "SIGNATURE_INVALID", 16)

    def test_root_key_that_does_not_parse(self):
        f = self.forger()

        def after(b):
            e = entry(b, 16)
            e["signatures"][-1]["publicKey"] = b64(b"\x30\x03\x02\x01\x01")
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        self.expect(f.resign(after), "not-intact", "SIGNATURE_INVALID", 16)

    def test_signer_not_a_participant_id(self):  # form allows it; check 13 refuses it
        f = self.forger()
        f.keys["x1"] = f.keys["p03"]  # a valid signature, by p03's key, under another name
        entry(f.bundle, 4)["signatures"].append(
            {"signer": "x1", "kind": "participant", "algorithm": "Ed25519",
             "publicKey": "", "signature": ""})
        self.expect(f.resign(), "not-intact", "SIGNER_NOT_AUTHORISED", 4)

    def test_root_key_signature_with_another_signer(self):  # §2.3: part of the form
        f = self.forger()

        def after(b):
            e = entry(b, 16)
            e["signatures"][-1]["signer"] = "root-kez"  # still sorted last
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        self.expect(f.resign(after), "not-intact", "SIGNATURES_MALFORMED", 16)


class Opening(Base):
    def test_step_id_is_order(self):  # §6.1: stepId = steps[0].id is check 11
        f = self.forger()
        body(f.bundle, 1)["stepId"] = "attendance"
        self.expect(f.resign(), "not-intact", "OUT_OF_ORDER", 1)

    def test_signed_opening(self):  # any signature fails check 13
        f = self.forger()
        entry(f.bundle, 1)["signatures"] = [{"signer": "p01", "kind": "participant",
                                             "algorithm": "Ed25519", "publicKey": "",
                                             "signature": ""}]
        self.expect(f.resign(), "not-intact", "SIGNER_NOT_AUTHORISED", 1)

    def test_inputs(self):
        f = self.forger()
        body(f.bundle, 1)["inputs"] = {"note": "x"}
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 1)

    def test_script_hash_before_inputs(self):
        f = self.forger()
        body(f.bundle, 1)["inputs"] = {"note": "x"}
        body(f.bundle, 1)["outputs"]["scriptSha256"] = "0" * 64
        self.expect(f.resign(), "not-intact", "SCRIPT_HASH_MISMATCH", 1)

    def test_missing_script_hash(self):
        f = self.forger()
        del body(f.bundle, 1)["outputs"]["scriptSha256"]
        self.expect(f.resign(), "not-intact", "SCRIPT_HASH_MISMATCH", 1)

    def test_settings_extra_member(self):
        f = self.forger()
        body(f.bundle, 1)["outputs"]["settings"]["curve"] = "x"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 1)

    def test_settings_algorithm_not_in_policy(self):
        f = self.forger()
        body(f.bundle, 1)["outputs"]["settings"]["algorithm"] = "EC-P192"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 1)

    def test_other_outputs_allowed(self):
        f = self.forger()
        body(f.bundle, 1)["outputs"]["extra"] = {"a": 1}
        self.expect(f.resign(), "complete")


class Enrolment(Base):
    def test_kdf_zero(self):
        f = self.forger()
        body(f.bundle, 3)["outputs"]["participants"][0]["kdf"]["N"] = 0
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_kdf_extra_member(self):
        f = self.forger()
        body(f.bundle, 3)["outputs"]["participants"][0]["kdf"]["dkLen"] = 32
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)


class RootKeys(Base):
    def test_certificate_of_another_key(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["certificate"]["pem"] = self_signed(ec_key("EC-P384"))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_certificate_signed_by_another_key(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["certificate"]["pem"] = self_signed(
            f.root[0], signer=ec_key("EC-P384"))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_certificate_not_pem(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["certificate"]["pem"] = "not a certificate"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_certificate_pin(self):
        f = self.forger()
        data = f.resign()
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        pem = body(json.loads(data), 9)["outputs"]["certificate"]["pem"]
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER)
        fp = ":".join(re.findall("..", sha256_hex(der).upper()))
        self.expect(data, "complete", None, None, "--expect-root-fingerprint", fp)

    def test_algorithm_not_settings(self):
        f = self.forger()
        key = ec_key("EC-P256")
        rk = body(f.bundle, 8)["outputs"]["rootKey"]
        rk.update(spki=b64(spki_of(key)), algorithm="EC-P256",
                  fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, "EC-P256")
        body(f.bundle, 9)["outputs"]["certificate"]["pem"] = self_signed(key)
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 8)

    def test_compressed_point(self):
        f = self.forger()
        from cryptography.hazmat.primitives import serialization
        key = f.root[0]
        comp = key.public_key().public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.CompressedPoint)
        unc = key.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
        der = spki_of(key)
        head = der[:len(der) - len(unc)]
        # rebuild the SPKI with a compressed point (lengths shrink by 48 bytes)
        algid = head[2:2 + head[3] + 2]
        bitstr = b"\x03" + bytes([len(comp) + 1]) + b"\x00" + comp
        inner = algid + bitstr
        spki = b"\x30" + bytes([len(inner)]) + inner
        rk = body(f.bundle, 8)["outputs"]["rootKey"]
        rk.update(spki=b64(spki), fingerprint=sha256_hex(spki))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 8)


class Recovery(Base):
    source = "valid/root-key-recovery.bundle.json"

    def seq_of(self, b, action):
        return next(e["body"]["seq"] for e in b["entries"] if e["body"]["action"] == action)

    def test_rekeyed_recovery_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_restores_another_key(self):
        f = self.forger()
        n = self.seq_of(f.bundle, "collect-shares-and-restore")
        key = ec_key(f.root[1])
        body(f.bundle, n)["outputs"]["rootKey"].update(
            spki=b64(spki_of(key)), fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, f.root[1])
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_without_source_root_key_any_key_is_restored(self):  # "when that member exists"
        f = self.forger()
        n = self.seq_of(f.bundle, "load-source-ceremony")
        del body(f.bundle, n)["outputs"]["sourceRootKey"]
        self.expect(f.resign(), "complete")

    def test_source_threshold_out_of_range(self):
        f = self.forger()
        n = self.seq_of(f.bundle, "load-source-ceremony")
        body(f.bundle, n)["outputs"]["sourceBackup"]["threshold"] = 1
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_source_root_key_spki_not_string(self):
        f = self.forger()
        n = self.seq_of(f.bundle, "load-source-ceremony")
        body(f.bundle, n)["outputs"]["sourceRootKey"]["spki"] = 7
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_source_custodian_without_public_key(self):
        f = self.forger()
        n = self.seq_of(f.bundle, "load-source-ceremony")
        del body(f.bundle, n)["outputs"]["sourceCustodians"][0]["publicKey"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)


class Abort(Base):
    source = "valid/aborted-before-enrolment.bundle.json"

    def test_signed_abort_before_enrolment(self):
        f = self.forger()
        entry(f.bundle, len(f.bundle["entries"]))["signatures"] = [
            {"signer": "p01", "kind": "participant", "algorithm": "Ed25519",
             "publicKey": "", "signature": ""}]
        # no enrolment, so no key for p01: sign with a fresh one
        from cryptography.hazmat.primitives.asymmetric import ed25519
        f.keys["p01"] = ed25519.Ed25519PrivateKey.generate()
        self.expect(f.resign(), "not-intact", "SIGNER_NOT_AUTHORISED", len(f.bundle["entries"]))


class Scripts(Base):
    def script_variant(self, edit):
        f = self.forger()
        f.set_script(edit(f.bundle["ceremony"]["scriptText"]))
        return f.resign()

    def test_duplicate_step_id(self):
        data = self.script_variant(lambda t: t.replace("- id: bags-out", "- id: bags-in", 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_reserved_action(self):
        data = self.script_variant(lambda t: t.replace("action: checklist", "action: abort", 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_action_pattern(self):
        data = self.script_variant(lambda t: t.replace("action: checklist", "action: Check", 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_empty_title(self):
        data = self.script_variant(lambda t: re.sub(r"(?m)^title: .*$", 'title: ""', t, 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_optional_separation_and_attest(self):  # §5 defaults
        def edit(t):
            t = re.sub(r"(?ms)^separation:\n(  - .*?\n)+\n", "", t)
            return t.replace("    attest: []\n", "")
        data = self.script_variant(edit)
        self.assertNotIn("separation:", json.loads(data)["ceremony"]["scriptText"])
        self.expect(data, "complete")

    def test_min_greater_than_max(self):  # §5, §7.1.3: min <= max
        data = self.script_variant(lambda t: t.replace("    min: 1\n    max: 1\n",
                                                       "    min: 2\n    max: 1\n", 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_policy_algorithm_not_a_name_of_6_4(self):  # §5: "strings (the names of §6.4)"
        data = self.script_variant(lambda t: t.replace("algorithms: [EC-P384,",
                                                       "algorithms: [Ed25519, EC-P384,", 1))
        self.assertIn("Ed25519", json.loads(data)["ceremony"]["scriptText"])
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")

    def test_yaml_11_boolean_anywhere(self):
        data = self.script_variant(lambda t: t.replace("requireBlank: false",
                                                       "requireBlank: off", 1))
        self.expect(data, "not-intact", "SCRIPT_UNREADABLE")


class Bundles(Base):
    def test_missing_version_is_unreadable(self):
        obj = json.loads(self.forger().resign())
        del obj["version"]
        self.expect(dump(obj), "unreadable")

    def test_ceremony_not_object(self):
        obj = json.loads(self.forger().resign())
        obj["ceremony"] = []
        self.expect(dump(obj), "not-intact", "HEADER_MALFORMED")

    def test_head_not_string(self):
        obj = json.loads(self.forger().resign())
        obj["head"] = 1
        self.expect(dump(obj), "not-intact", "HEAD_MISMATCH")


class CeremonyOption(Base):
    """§7.6: --ceremony ID; a ceremony the file does not hold is a usage error (exit 2)."""

    def test_bundle_with_that_id(self):
        data = self.forger().resign()
        cid = json.loads(data)["ceremony"]["id"]
        self.expect(data, "complete", None, None, "--ceremony", cid)

    def test_bundle_with_another_id(self):
        got = self.expect(self.forger().resign(), "usage-error", None, None,
                          "--ceremony", "another")
        self.assertEqual(verify.EXIT[got["verdict"]], 2)

    def test_database(self):
        import sqlite3
        path = os.path.join(os.path.dirname(load.__globals__["VECTORS"] + "/"),
                            "valid", "two-ceremonies.sqlite")
        with open(path, "rb") as fh:
            data = fh.read()
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ids = [r[0] for r in conn.execute("SELECT id FROM ceremonies ORDER BY id")]
        finally:
            conn.close()
        got = self.expect(data, "complete", None, None, "--ceremony", ids[1], suffix=".sqlite")
        self.assertEqual(got["ceremony"], ids[1])
        self.expect(data, "usage-error", None, None, "--ceremony", "nope", suffix=".sqlite")


def _compressed(spki_der):
    """The same EC key's SPKI DER with its point compressed (lengths < 128 for P-256/P-384)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    key = serialization.load_der_public_key(spki_der)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    point = key.public_bytes(serialization.Encoding.X962,
                             serialization.PublicFormat.CompressedPoint)
    algid = spki_der[2:2 + 2 + spki_der[3]]
    inner = algid + b"\x03" + bytes([len(point) + 1]) + b"\x00" + point
    return b"\x30" + bytes([len(inner)]) + inner


class TokenKeys(Base):
    """§2.4a, §6.3, checks 8, 10, 13: participants p01 and p03 sign with P-256 keys on their own
    tokens (entry 3 enrols, 4 is signed by p03 alone, 16 seals)."""
    source = "valid/token-held-keys.bundle.json"

    def participant(self, f, pid):
        return next(p for p in body(f.bundle, 3)["outputs"]["participants"] if p["id"] == pid)

    def retoken(self, f, pid, algorithm, curve):
        """Give pid a fresh key on `curve`, enrolled as token.algorithm `algorithm`."""
        p = self.participant(f, pid)
        key = ec_key(curve)
        p["token"]["algorithm"] = algorithm
        old = p["publicKey"]
        f.keys[pid], f.key_algorithms[pid] = key, algorithm
        f._replace_everywhere(old, f.public_key(pid))
        return key

    def resign_sig(self, f, seq, pid, make=None, **changes):
        """resign, then change pid's signature on entry seq (hashes fixed up to the head);
        make(msg), if given, returns more changes computed from the entry's signed message."""
        def after(b):
            e = entry(b, seq)
            sig = next(x for x in e["signatures"] if x["signer"] == pid)
            sig.update(changes)
            if make:
                sig.update(make(("custos-attestation-v2\n" + e["bodyHash"]).encode()))
            prev = e["body"]["prevHash"]
            for x in b["entries"][seq - 1:]:  # rebuild the chain from seq on (bodies change)
                x["body"]["prevHash"] = prev
                x["bodyHash"] = sha256_hex(dump(x["body"])[:-1])
                msg = ("custos-attestation-v2\n" + x["bodyHash"]).encode()
                for y in x["signatures"]:
                    if x is e and y["signer"] == pid:
                        continue
                    if y["kind"] == "participant":
                        y.update(f.sign_as(y["signer"], msg=msg))
                    else:
                        y["signature"] = b64(__import__("forge").root_sign(f.root[0], f.root[1],
                                                                          msg))
                x["entryHash"] = sha256_hex(dump({"bodyHash": x["bodyHash"],
                                                  "signatures": x["signatures"]})[:-1])
                prev = x["entryHash"]
            b["head"] = prev
        return f.resign(after)

    def test_rekeyed_is_complete(self):
        f = self.forger()
        self.assertEqual(self.participant(f, "p01")["token"]["algorithm"], "ECDSA-SHA256")
        self.expect(f.resign(), "complete")

    def test_p384_token_key(self):
        f = self.forger()
        self.retoken(f, "p03", "ECDSA-SHA384", "EC-P384")
        self.expect(f.resign(), "complete")

    def test_participant_fingerprint_of_spki(self):  # §2.4: over the SPKI DER of a token key
        data = self.forger().resign()
        p = next(p for p in body(json.loads(data), 3)["outputs"]["participants"]
                 if p["id"] == "p01")
        fp = sha256_hex(__import__("base64").b64decode(p["publicKey"]))[:32]
        fp = " ".join(re.findall("....", fp))
        self.expect(data, "complete", None, None, "--expect-participant", f"p01={fp}")

    # --- §6.3: the enrolment

    def test_token_and_kdf(self):  # "exactly one of kdf and token"
        for pid, other in (("p01", "p02"), ("p02", "p01")):  # a token key, a passphrase key
            f = self.forger()
            p = self.participant(f, pid)
            member = "token" if "kdf" in p else "kdf"
            p[member] = dict(self.participant(f, other)[member])
            self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_neither_token_nor_kdf(self):
        f = self.forger()
        del self.participant(f, "p01")["token"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_extra_member(self):
        f = self.forger()
        self.participant(f, "p01")["token"]["pin"] = "never"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_member_not_a_string(self):
        f = self.forger()
        self.participant(f, "p01")["token"]["serial"] = 1234
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_empty_strings_allowed(self):  # "serial": string (no "non-empty")
        f = self.forger()
        self.participant(f, "p01")["token"].update(serial="", label="", model="")
        self.expect(f.resign(), "complete")

    def test_token_algorithm_sha512(self):  # only ECDSA-SHA256 / ECDSA-SHA384
        f = self.forger()
        self.retoken(f, "p03", "ECDSA-SHA512", "EC-P521")
        self.expect(f.resign(), "not-intact", "SIGNATURES_MALFORMED", 3)  # the form, check 8

    def test_token_algorithm_does_not_fit_key(self):  # P-256 key enrolled as ECDSA-SHA384
        f = self.forger()
        self.participant(f, "p03")["token"]["algorithm"] = "ECDSA-SHA384"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_key_p521(self):  # P-256 / P-384 only
        f = self.forger()
        key = ec_key("EC-P521")
        p = self.participant(f, "p03")
        f._replace_everywhere(p["publicKey"], b64(spki_of(key)))
        # no P-521 signature passes check 10, which comes before check 12: p03 does not sign
        # the enrolment (check 14, after 12)
        entry(f.bundle, 3)["signatures"] = [x for x in entry(f.bundle, 3)["signatures"]
                                            if x["signer"] != "p03"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_key_ed25519_raw(self):  # a token key is an SPKI, not 32 raw bytes
        f = self.forger()
        p = self.participant(f, "p03")
        p["publicKey"] = self.participant(f, "p04")["publicKey"][:-4] + "AAA="
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_key_compressed_point(self):  # reading: "canonical DER" allows it (§6.3)
        f = self.forger()
        p = self.participant(f, "p01")
        comp = b64(_compressed(__import__("base64").b64decode(p["publicKey"])))
        orig = f.public_key
        f._replace_everywhere(p["publicKey"], comp)
        f.public_key = lambda pid: comp if pid == "p01" else orig(pid)
        self.expect(f.resign(), "complete")

    def test_token_key_used_twice_in_two_encodings(self):  # "unique": the key itself
        f = self.forger()
        p1, p3 = self.participant(f, "p01"), self.participant(f, "p03")
        p3["publicKey"] = b64(_compressed(__import__("base64").b64decode(p1["publicKey"])))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    def test_token_key_used_twice(self):  # publicKey unique among participants
        f = self.forger()
        self.participant(f, "p03")["publicKey"] = self.participant(f, "p01")["publicKey"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 3)

    # --- checks 8, 10, 13

    def test_signature_algorithm_unknown(self):  # check 8: the form
        f = self.forger()
        data = self.resign_sig(f, 4, "p03", algorithm="ECDSA-SHA512")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", 4)

    def test_signature_sha384_with_p256_key(self):  # check 10: the algorithm fits the curve
        # a genuine SHA-384 ECDSA signature by the P-256 key, labelled ECDSA-SHA384, r and s
        # written on 48 bytes each as ECDSA-SHA384 wants: only the curve rule refuses it
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        for width in (32, 48):
            f = self.forger()

            def make(msg):
                r, s = decode_dss_signature(f.keys["p03"].sign(msg, ec.ECDSA(hashes.SHA384())))
                return {"signature": b64(r.to_bytes(width, "big") + s.to_bytes(width, "big"))}
            data = self.resign_sig(f, 4, "p03", make, algorithm="ECDSA-SHA384")
            self.expect(data, "not-intact", "SIGNATURE_INVALID", 4)

    def test_signature_der_encoded(self):  # raw r||s, not DER
        from cryptography.hazmat.primitives.asymmetric import ec
        f = self.forger()
        data = self.resign_sig(f, 4, "p03", lambda msg: {"signature": b64(
            f.keys["p03"].sign(msg, ec.ECDSA(hashes.SHA256())))})
        self.expect(data, "not-intact", "SIGNATURE_INVALID", 4)

    def test_signature_ed25519_label_on_token_key(self):
        f = self.forger()
        data = self.resign_sig(f, 4, "p03", algorithm="Ed25519")
        self.expect(data, "not-intact", "SIGNATURE_INVALID", 4)

    def test_signs_with_another_token_key(self):  # check 13: the enrolled key
        # p03 is enrolled with a P-256 key; its signatures are made by another P-256 key: they
        # verify (check 10) but are not by the enrolled key (check 13)
        f = self.forger()
        f.keys["p03"] = ec_key("EC-P256")
        self.expect(f.resign(), "not-intact", "SIGNER_NOT_AUTHORISED", 3)

    def test_algorithm_not_the_enrolled_ones(self):  # check 13, called directly
        # Through a bundle this clause is never reached: a signature whose publicKey is the
        # enrolled key but whose algorithm is not the enrolled one already fails check 10 (the
        # algorithm does not fit the key). The rule is still written; test it on its own.
        from indep import actions
        from indep.errors import Fail
        spki = b64(spki_of(ec_key("EC-P384")))
        enrolled = {"p01": {"id": "p01", "publicKey": spki,
                            "token": {"algorithm": "ECDSA-SHA384"}},
                    "p02": {"id": "p02", "publicKey": "k2", "kdf": {}}}
        ok = [{"signer": "p01", "kind": "participant", "algorithm": "ECDSA-SHA384",
               "publicKey": spki}, {"signer": "p02", "kind": "participant",
                                    "algorithm": "Ed25519", "publicKey": "k2"}]
        actions.check_authorised(5, {"action": "checklist"}, ok, "step", None, enrolled)
        for bad in ({"signer": "p01", "kind": "participant", "algorithm": "ECDSA-SHA256",
                     "publicKey": spki},
                    {"signer": "p02", "kind": "participant", "algorithm": "ECDSA-SHA256",
                     "publicKey": "k2"}):
            with self.assertRaises(Fail) as cm:
                actions.check_authorised(5, {"action": "checklist"}, [bad], "step", None,
                                         enrolled)
            self.assertEqual((cm.exception.code, cm.exception.seq),
                             ("SIGNER_NOT_AUTHORISED", 5))


class Signing(Base):
    """§6.4 prove-root-key and §6.10, on re-keyed copies of the built signing ceremonies:
    entry 3 loads the source, 8 proves the root, 9 loads the input, 10 signs, 13 seals."""
    source = "valid/sign-intermediate.bundle.json"

    def test_rekeyed_is_complete(self):
        f = self.forger()
        self.assertEqual([f.seq_of(a) for a in ("load-source-ceremony", "prove-root-key",
                                                "load-input", "sign-certificate")], [3, 8, 9, 10])
        self.expect(f.resign(), "complete")

    # --- prove-root-key (§6.4)

    def test_prove_another_key(self):
        f = self.forger()
        key = ec_key("EC-P384")
        body(f.bundle, 8)["outputs"]["rootKey"].update(spki=b64(spki_of(key)),
                                                       fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, "EC-P384")  # the seal and the certificate follow the stranger key
        body(f.bundle, 10)["outputs"]["certificate"]["pem"] = issue(
            x509.load_pem_x509_certificate(body(f.bundle, 10)["outputs"]["certificate"]["pem"]
                                           .encode()).public_key(), key, "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 8)

    def test_prove_without_source_root_key(self):  # "which must exist"
        f = self.forger()
        del body(f.bundle, 3)["outputs"]["sourceRootKey"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 8)

    def test_prove_root_key_is_checked_as_a_root_key(self):  # §6.4's object rules apply
        f = self.forger()
        body(f.bundle, 8)["outputs"]["rootKey"]["fingerprint"] = "0" * 64
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 8)

    def test_prove_algorithm_need_not_be_settings(self):  # only generate-key-pair's must
        f = self.forger()
        body(f.bundle, 1)["outputs"]["settings"]["algorithm"] = "EC-P256"
        self.expect(f.resign(), "complete")

    def test_proved_root_pin(self):  # §10: "including one proved by a signing ceremony"
        data = self.forger().resign()
        spki = body(json.loads(data), 8)["outputs"]["rootKey"]["spki"]
        fp = sha256_hex(__import__("base64").b64decode(spki))
        self.expect(data, "complete", None, None, "--expect-root-fingerprint", fp)

    def test_issued_certificate_is_not_a_root_pin(self):
        data = self.forger().resign()
        pem = body(json.loads(data), 10)["outputs"]["certificate"]["pem"]
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER)
        self.expect(data, "not-intact", "PIN_MISMATCH", None,
                    "--expect-root-fingerprint", sha256_hex(der))

    def test_seal_without_root_signature(self):  # the proved root must seal (§6.5)
        f = self.forger()
        entry(f.bundle, 13)["signatures"] = [
            s for s in entry(f.bundle, 13)["signatures"] if s["kind"] != "root-key"]
        self.expect(f.resign(), "not-intact", "ATTESTATION_MISSING", 13)

    # --- load-input (§6.10)

    def test_input_hash_not_of_content(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["input"]["content"] = b64(b"another request")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_hash_upper_case(self):  # "hex" is lower-case (§1)
        f = self.forger()
        inp = body(f.bundle, 9)["outputs"]["input"]
        inp["sha256"] = inp["sha256"].upper()
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_content_not_strict_base64(self):
        f = self.forger()
        inp = body(f.bundle, 9)["outputs"]["input"]
        inp["content"] = inp["content"][:60] + "\n" + inp["content"][60:]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_unknown_kind(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["input"]["kind"] = "csr"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_name_not_a_string(self):
        f = self.forger()
        body(f.bundle, 9)["outputs"]["input"]["name"] = 1
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_without_content(self):
        f = self.forger()
        del body(f.bundle, 9)["outputs"]["input"]["content"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)

    def test_input_extra_members_allowed(self):  # "has"
        f = self.forger()
        body(f.bundle, 9)["outputs"]["input"]["words"] = "not checked"
        self.expect(f.resign(), "complete")

    # --- sign-certificate (§6.10)

    def test_certificate_signed_by_another_key(self):
        f = self.forger()
        out = body(f.bundle, 10)["outputs"]["certificate"]
        out["pem"] = issue(x509.load_pem_x509_certificate(out["pem"].encode()).public_key(),
                           ec_key("EC-P384"), "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_certificate_of_another_key(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["certificate"]["pem"] = issue(
            ec_key("EC-P256").public_key(), f.root[0], "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_certificate_not_pem(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["certificate"]["pem"] = "not a certificate"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_input_named_nowhere(self):
        f = self.forger()
        body(f.bundle, 10)["inputs"]["input"] = "other"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_input_of_a_kind_without_key(self):  # load-input does not parse the content
        f = self.forger()
        body(f.bundle, 9)["outputs"]["input"]["kind"] = "revocation-list"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_input_not_a_request(self):
        f = self.forger()
        f.set_input(9, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                       b"-----END CERTIFICATE REQUEST-----\n")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_request_in_der_and_pem(self):  # the file may be PEM or DER
        for enc in (serialization.Encoding.DER, serialization.Encoding.PEM):
            f = self.forger()
            key = ec_key("EC-P256")
            f.set_input(9, csr(key, encoding=enc))
            body(f.bundle, 10)["outputs"]["certificate"]["pem"] = issue(
                key.public_key(), f.root[0], "EC-P384")
            self.expect(f.resign(), "complete")

    def test_request_signature_not_checked(self):  # §6.10 names the key, not the request's PoP
        f = self.forger()
        key = ec_key("EC-P256")
        der = bytearray(csr(key, encoding=serialization.Encoding.DER))
        der[-1] ^= 1  # the request's own signature no longer verifies
        req = x509.load_der_x509_csr(bytes(der))
        self.assertFalse(req.is_signature_valid)
        f.set_input(9, bytes(der))
        body(f.bundle, 10)["outputs"]["certificate"]["pem"] = issue(
            key.public_key(), f.root[0], "EC-P384")
        self.expect(f.resign(), "complete")

    def test_certificate_subject_not_checked(self):  # only the key is bound
        f = self.forger()
        out = body(f.bundle, 10)["outputs"]["certificate"]
        out["pem"] = issue(x509.load_pem_x509_certificate(out["pem"].encode()).public_key(),
                           f.root[0], "EC-P384", cn="Not What Was Requested")
        self.expect(f.resign(), "complete")

    def test_latest_input_of_a_name_counts(self):  # "the latest load-input with that name"
        for signed, verdict in ((0, ("not-intact", "ACTION_MALFORMED", 11)),
                                (1, ("complete", None, None))):
            f = self.forger()
            text = f.bundle["ceremony"]["scriptText"]
            block = re.search(r"(?ms)^  - id: request\n.*?(?=^  - id: sign\n)", text).group(0)
            f.set_script(text.replace(block, block + block.replace("id: request", "id: again")))
            again = f.insert_copy(9, stepId="again")
            keys = [ec_key("EC-P256"), ec_key("EC-P256")]
            f.set_input(9, csr(keys[0]))
            f.set_input(again, csr(keys[1]))
            body(f.bundle, 11)["outputs"]["certificate"]["pem"] = issue(
                keys[signed].public_key(), f.root[0], "EC-P384")
            self.expect(f.resign(), *verdict)

    def test_sign_without_root_key(self):
        f = self.forger()
        text = f.bundle["ceremony"]["scriptText"]
        text = re.sub(r"(?ms)^  - id: prove-root\n.*?(?=^  - id: request\n)", "", text)
        self.assertNotIn("prove-root-key", text)
        f.set_script(text)
        f.drop_entry(8)
        self.assertEqual(body(f.bundle, 9)["action"], "sign-certificate")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)


class CrossCertify(Base):
    source = "valid/cross-certify.bundle.json"

    def test_rekeyed_is_complete(self):
        f = self.forger()
        self.assertEqual(body(f.bundle, 9)["outputs"]["input"]["kind"], "certificate")
        self.expect(f.resign(), "complete")

    def test_certificate_of_another_key(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["certificate"]["pem"] = issue(
            ec_key("EC-P384").public_key(), f.root[0], "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_input_certificate_in_der(self):
        f = self.forger()
        pem = __import__("base64").b64decode(body(f.bundle, 9)["outputs"]["input"]["content"])
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        f.set_input(9, der)
        self.expect(f.resign(), "complete")


class IssueCrl(Base):
    source = "valid/issue-crl.bundle.json"

    def test_rekeyed_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_signed_by_another_key(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["crl"]["pem"] = crl(ec_key("EC-P384"), "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_hashed_otherwise(self):  # §6.10: "hashed as §2.3 pairs the root key's algorithm"
        f = self.forger()
        body(f.bundle, 10)["outputs"]["crl"]["pem"] = crl(f.root[0], "EC-P384",
                                                         hash_cls=hashes.SHA256)
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_other_pem_label(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["crl"]["pem"] = crl(f.root[0], "EC-P384",
                                                         label="CERTIFICATE")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_not_a_crl(self):
        f = self.forger()
        body(f.bundle, 10)["outputs"]["crl"]["pem"] = self_signed(f.root[0]).replace(
            "CERTIFICATE", "X509 CRL")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 10)

    def test_crl_not_tied_to_the_input(self):  # §6.10 does not tie issue-crl to load-input
        f = self.forger()
        body(f.bundle, 10)["inputs"]["input"] = "nothing-loaded"
        self.expect(f.resign(), "complete")

    def test_without_root_key(self):
        f = self.forger()
        text = re.sub(r"(?ms)^  - id: prove-root\n.*?(?=^  - id: )", "",
                      f.bundle["ceremony"]["scriptText"])
        self.assertNotIn("prove-root-key", text)
        f.set_script(text)
        f.drop_entry(8)
        self.assertEqual(body(f.bundle, 9)["action"], "issue-crl")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", 9)


@unittest.skipUnless(HAS_POPPLER, "poppler-utils (pdfdetach, pdftotext) not installed")
class Reports(Base):
    def bundle(self):
        data = self.forger().resign()
        return data, json.loads(data)

    def test_binding_lines(self):
        data, obj = self.bundle()
        got = self.expect(pdf(["Cover", *binding(obj)], [("bundle.json", data)]), "complete",
                          suffix=".pdf")
        self.assertTrue(any("rule 4" in n for n in got.get("notes", [])))

    def test_mode_flipped(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj, mode="production"), [("bundle.json", data)]),
                    "not-intact", "REPORT_MISMATCH", suffix=".pdf")

    def test_line_missing(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj, closed=None), [("bundle.json", data)]),
                    "not-intact", "REPORT_MISMATCH", suffix=".pdf")

    def test_no_attachment(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), []), "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_other_name(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("b.json", data)]), "not-intact", "REPORT_ATTACHMENTS",
                    suffix=".pdf")

    def test_two_attachments(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data), ("x.txt", b"x")]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    @unittest.skipUnless(shutil.which("qpdf"), "qpdf not installed")
    def test_annotation_only(self):  # §8 rule 2: "it is the name-tree entry bundle.json"
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [], annotations=[("bundle.json", data)]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_annotation_besides_the_bundle(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data)],
                        annotations=[("bundle.json", data)]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_incremental_update(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data)], incremental=True),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_attached_file_not_a_bundle_is_unreadable(self):
        self.expect(pdf(["x"], [("bundle.json", b'{"format": "other"}\n')]), "unreadable",
                    suffix=".pdf")

    def test_corrupt_pdf_has_no_readable_bundle(self):
        self.expect(b"%PDF-1.7\nnothing here\n%%EOF\n", "not-intact", "REPORT_ATTACHMENTS",
                    suffix=".pdf")

    def test_attached_bundle_not_intact(self):
        data, obj = self.bundle()
        obj["head"] = "0" * 64
        self.expect(pdf(binding(obj), [("bundle.json", dump(obj))]), "not-intact",
                    "HEAD_MISMATCH", suffix=".pdf")


if __name__ == "__main__":
    unittest.main()
