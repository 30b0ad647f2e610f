"""Each rule of the revised spec, broken on purpose in a re-keyed, re-signed copy of a valid
vector (tests/forge.py), must give the expected verdict, code and entry.

    python3 -m unittest discover -s test/independent-verifier/tests
"""

import json
import os
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common import Base, body, entry, last_seq, seq_of, seq_of_action, verify
from forge import dump, ec_key, load, self_signed, b64, spki_of, sha256_hex


class ReKeyed(Base):
    def test_rekeyed_copy_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_rekeyed_copy_fails_the_genuine_root_pin(self):
        genuine = load(self.source)
        fp = body(genuine, seq_of(genuine, "generate-root-key", "generate-key-pair"))[
            "outputs"]["rootKey"]["fingerprint"]
        self.expect(self.forger().resign(), "not-intact", "PIN_MISMATCH", None,
                    "--expect-root-fingerprint", fp)


class Numbers(Base):
    def test_action_pattern(self):  # §1: an action matches the identifier pattern
        f = self.forger()
        n = seq_of(f.bundle, "opening", "checklist")
        body(f.bundle, n)["action"] = "Checklist"
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", n)

    def test_exponent_in_bundle(self):  # §1: read as doubles, 3e0 is not canonical
        data = self.forger().resign().replace(b'"threshold":2', b'"threshold":2e0', 1)
        self.expect(data, "not-intact", "BUNDLE_NOT_CANONICAL")

    def test_beyond_safe_integer(self):  # 2^53 prints canonically but is out of range
        f = self.forger()
        n = seq_of(f.bundle, "opening", "checklist")
        body(f.bundle, n)["outputs"]["n"] = 2 ** 53
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", n)

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
    """Entry n (select-token) against the entry before it."""

    def test_backwards(self):
        f = self.forger()
        n = seq_of(f.bundle, "select-token")
        before = body(f.bundle, n - 1)["timestamp"]
        earlier = re.sub(r"T(\d\d):(\d\d):", lambda m: "T%s:%02d:" % (
            m.group(1), int(m.group(2)) - 1), before, 1)  # one minute before entry n - 1
        self.assertLess(earlier, before)
        body(f.bundle, n)["timestamp"] = earlier
        self.expect(f.resign(), "not-intact", "BODY_MISMATCH", n)

    def test_equal_is_allowed(self):
        f = self.forger()
        n = seq_of(f.bundle, "select-token")
        body(f.bundle, n)["timestamp"] = body(f.bundle, n - 1)["timestamp"]
        self.expect(f.resign(), "complete")

    def test_not_a_real_instant(self):
        f = self.forger()
        n = seq_of(f.bundle, "select-token")
        body(f.bundle, n)["timestamp"] = "2026-02-30T09:05:05.000Z"
        self.expect(f.resign(), "not-intact", "BODY_MALFORMED", n)


class SignatureForm(Base):
    """§2.3: form is check 8, bytes are check 10."""

    def seal(self, f):
        """The seq of the seal, the last entry (its last signature is the root key's)."""
        seq = seq_of_action(f.bundle, "seal-transcript")
        self.assertEqual(seq, last_seq(f.bundle))
        self.assertEqual(entry(f.bundle, seq)["signatures"][-1]["kind"], "root-key")
        return seq

    def tamper(self, **change):
        """Change the first signature of the seal (the last entry) after signing; the entry
        hash and the head follow, so check 8 or 10 is the first to see it. -> (seq, bytes)"""
        f = self.forger()
        seq = self.seal(f)

        def after(b):
            e = entry(b, seq)
            e["signatures"][0].update(change)
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        return seq, f.resign(after)

    def test_empty_member(self):
        seq, data = self.tamper(signer="")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", seq)

    def test_unknown_algorithm(self):
        seq, data = self.tamper(algorithm="Ed448")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", seq)

    def test_root_algorithm_on_participant(self):  # §2.3: only the root's ECDSA-SHA512 / RSA
        for alg in ("ECDSA-SHA512", "RSA-PKCS1-SHA256"):
            seq, data = self.tamper(algorithm=alg)
            self.expect(data, "not-intact", "SIGNATURES_MALFORMED", seq)

    def test_token_algorithm_on_ed25519_key(self):  # §2.4a: the form holds, the bytes do not
        seq, data = self.tamper(algorithm="ECDSA-SHA256")
        self.expect(data, "not-intact", "SIGNATURE_INVALID", seq)

    def test_unknown_kind(self):
        seq, data = self.tamper(kind="witness")
        self.expect(data, "not-intact", "SIGNATURES_MALFORMED", seq)

    def test_non_canonical_base64_is_invalid(self):  # bytes: check 10
        seq, data = self.tamper(signature="!!!!")
        self.expect(data, "not-intact", "SIGNATURE_INVALID", seq)

    def test_short_key_is_invalid(self):
        seq, data = self.tamper(publicKey=b64(b"\x01" * 31))
        self.expect(data, "not-intact", "SIGNATURE_INVALID", seq)

    def test_root_key_that_does_not_parse(self):
        f = self.forger()
        seq = self.seal(f)

        def after(b):
            e = entry(b, seq)
            e["signatures"][-1]["publicKey"] = b64(b"\x30\x03\x02\x01\x01")
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        self.expect(f.resign(after), "not-intact", "SIGNATURE_INVALID", seq)

    def test_signer_not_a_participant_id(self):  # form allows it; check 13 refuses it
        f = self.forger()
        f.keys["x1"] = f.keys["p03"]  # a valid signature, by p03's key, under another name
        n = seq_of(f.bundle, "air-gap")
        entry(f.bundle, n)["signatures"].append(
            {"signer": "x1", "kind": "participant", "algorithm": "Ed25519",
             "publicKey": "", "signature": ""})
        self.expect(f.resign(), "not-intact", "SIGNER_NOT_AUTHORISED", n)

    def test_root_key_signature_with_another_signer(self):  # §2.3: part of the form
        f = self.forger()
        seq = self.seal(f)

        def after(b):
            e = entry(b, seq)
            e["signatures"][-1]["signer"] = "root-kez"  # still sorted last
            e["entryHash"] = sha256_hex(dump({"bodyHash": e["bodyHash"],
                                              "signatures": e["signatures"]})[:-1])
            b["head"] = e["entryHash"]
        self.expect(f.resign(after), "not-intact", "SIGNATURES_MALFORMED", seq)


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
        n = seq_of(f.bundle, "attendance", "enrol-participants")
        body(f.bundle, n)["outputs"]["participants"][0]["kdf"]["N"] = 0
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_kdf_extra_member(self):
        f = self.forger()
        n = seq_of(f.bundle, "attendance", "enrol-participants")
        body(f.bundle, n)["outputs"]["participants"][0]["kdf"]["dkLen"] = 32
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)


class RootKeys(Base):
    def key(self, f):
        """The seq of the root key's generation."""
        return seq_of(f.bundle, "generate-root-key", "generate-key-pair")

    def cert(self, f):
        """The seq of the root certificate."""
        return seq_of(f.bundle, "root-certificate", "self-sign-certificate")

    def test_certificate_of_another_key(self):
        f = self.forger()
        cert_seq = self.cert(f)
        body(f.bundle, cert_seq)["outputs"]["certificate"]["pem"] = self_signed(ec_key("EC-P384"))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", cert_seq)

    def test_certificate_signed_by_another_key(self):
        f = self.forger()
        cert_seq = self.cert(f)
        body(f.bundle, cert_seq)["outputs"]["certificate"]["pem"] = self_signed(
            f.root[0], signer=ec_key("EC-P384"))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", cert_seq)

    def test_certificate_not_pem(self):
        f = self.forger()
        cert_seq = self.cert(f)
        body(f.bundle, cert_seq)["outputs"]["certificate"]["pem"] = "not a certificate"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", cert_seq)

    def test_certificate_pin(self):
        f = self.forger()
        cert_seq = self.cert(f)
        data = f.resign()
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        pem = body(json.loads(data), cert_seq)["outputs"]["certificate"]["pem"]
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER)
        fp = ":".join(re.findall("..", sha256_hex(der).upper()))
        self.expect(data, "complete", None, None, "--expect-root-fingerprint", fp)

    def test_algorithm_not_settings(self):
        f = self.forger()
        key_seq = self.key(f)
        cert_seq = self.cert(f)
        key = ec_key("EC-P256")
        rk = body(f.bundle, key_seq)["outputs"]["rootKey"]
        rk.update(spki=b64(spki_of(key)), algorithm="EC-P256",
                  fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, "EC-P256")
        body(f.bundle, cert_seq)["outputs"]["certificate"]["pem"] = self_signed(key)
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", key_seq)

    def test_compressed_point(self):
        f = self.forger()
        key_seq = self.key(f)
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
        rk = body(f.bundle, key_seq)["outputs"]["rootKey"]
        rk.update(spki=b64(spki), fingerprint=sha256_hex(spki))
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", key_seq)


class Recovery(Base):
    source = "valid/root-key-recovery.bundle.json"

    def test_rekeyed_recovery_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_restores_another_key(self):
        f = self.forger()
        n = seq_of_action(f.bundle, "collect-shares-and-restore")
        key = ec_key(f.root[1])
        body(f.bundle, n)["outputs"]["rootKey"].update(
            spki=b64(spki_of(key)), fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, f.root[1])
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_without_source_root_key_any_key_is_restored(self):  # "when that member exists"
        f = self.forger()
        n = seq_of_action(f.bundle, "load-source-ceremony")
        del body(f.bundle, n)["outputs"]["sourceRootKey"]
        self.expect(f.resign(), "complete")

    def test_source_threshold_out_of_range(self):
        f = self.forger()
        n = seq_of_action(f.bundle, "load-source-ceremony")
        body(f.bundle, n)["outputs"]["sourceBackup"]["threshold"] = 1
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_source_root_key_spki_not_string(self):
        f = self.forger()
        n = seq_of_action(f.bundle, "load-source-ceremony")
        body(f.bundle, n)["outputs"]["sourceRootKey"]["spki"] = 7
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", n)

    def test_source_custodian_without_public_key(self):
        f = self.forger()
        n = seq_of_action(f.bundle, "load-source-ceremony")
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
