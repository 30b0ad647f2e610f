"""§6.4 prove-root-key and §6.10 (load-input, sign-certificate, cross-certify, issue-crl),
broken on purpose in re-keyed, re-signed copies of the signing vectors (tests/forge.py).

    python3 -m unittest discover -s test/independent-verifier/tests
"""

import base64
import json
import re
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from common import Base, body, entry, last_seq, seq_of
from forge import crl, csr, ec_key, issue, load, self_signed, b64, spki_of, sha256_hex


# the subject forge.csr() writes
SUBJECT = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Test Intermediate CA")])


class Signing(Base):
    """§6.4 prove-root-key and §6.10, on re-keyed copies of the built signing ceremonies: the
    entries of steps source (loads the source), hsm-preflight (qualifies the token, §6.4c),
    prove-root (proves the root), request (loads the input), sign (signs) and seal (seals), in
    this order; their seqs are looked up (setUp), not written down."""
    source = "valid/sign-intermediate.bundle.json"

    def setUp(self):
        b = load(self.source)
        self.SOURCE = seq_of(b, "source", "load-source-ceremony")
        self.PROVE = seq_of(b, "prove-root", "prove-root-key")
        self.INPUT = seq_of(b, "request", "load-input")
        self.SIGN = seq_of(b, "sign", "sign-certificate")
        self.SEAL = seq_of(b, "seal", "seal-transcript")

    def test_rekeyed_is_complete(self):
        f = self.forger()
        self.assertEqual([f.seq_of(a) for a in ("load-source-ceremony", "hsm-preflight",
                                                "prove-root-key", "load-input",
                                                "sign-certificate", "seal-transcript")],
                         sorted([self.SOURCE, f.seq_of("hsm-preflight"), self.PROVE,
                                 self.INPUT, self.SIGN, self.SEAL]))
        self.assertEqual(self.SEAL, last_seq(f.bundle))
        self.expect(f.resign(), "complete")

    # --- prove-root-key (§6.4)

    def test_prove_another_key(self):
        f = self.forger()
        key = ec_key("EC-P384")
        body(f.bundle, self.PROVE)["outputs"]["rootKey"].update(
            spki=b64(spki_of(key)), fingerprint=sha256_hex(spki_of(key)))
        f.root = (key, "EC-P384")  # the seal and the certificate follow the stranger key
        out = body(f.bundle, self.SIGN)["outputs"]["certificate"]
        out["pem"] = issue(x509.load_pem_x509_certificate(out["pem"].encode()).public_key(),
                           key, "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.PROVE)

    def test_prove_without_source_root_key(self):  # "which must exist"
        f = self.forger()
        del body(f.bundle, self.SOURCE)["outputs"]["sourceRootKey"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.PROVE)

    def test_prove_root_key_is_checked_as_a_root_key(self):  # §6.4's object rules apply
        f = self.forger()
        body(f.bundle, self.PROVE)["outputs"]["rootKey"]["fingerprint"] = "0" * 64
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.PROVE)

    def test_prove_algorithm_need_not_be_settings(self):  # only generate-key-pair's must
        f = self.forger()
        body(f.bundle, 1)["outputs"]["settings"]["algorithm"] = "EC-P256"
        self.expect(f.resign(), "complete")

    def test_proved_root_pin(self):  # §10: "including one proved by a signing ceremony"
        data = self.forger().resign()
        spki = body(json.loads(data), self.PROVE)["outputs"]["rootKey"]["spki"]
        fp = sha256_hex(base64.b64decode(spki))
        self.expect(data, "complete", None, None, "--expect-root-fingerprint", fp)

    def test_issued_certificate_is_not_a_root_pin(self):
        data = self.forger().resign()
        pem = body(json.loads(data), self.SIGN)["outputs"]["certificate"]["pem"]
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER)
        self.expect(data, "not-intact", "PIN_MISMATCH", None,
                    "--expect-root-fingerprint", sha256_hex(der))

    def test_seal_without_root_signature(self):  # the proved root must seal (§6.5)
        f = self.forger()
        entry(f.bundle, self.SEAL)["signatures"] = [
            s for s in entry(f.bundle, self.SEAL)["signatures"] if s["kind"] != "root-key"]
        self.expect(f.resign(), "not-intact", "ATTESTATION_MISSING", self.SEAL)

    # --- load-input (§6.10)

    def test_input_hash_not_of_content(self):
        f = self.forger()
        body(f.bundle, self.INPUT)["outputs"]["input"]["content"] = b64(b"another request")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_hash_upper_case(self):  # "hex" is lower-case (§1)
        f = self.forger()
        inp = body(f.bundle, self.INPUT)["outputs"]["input"]
        inp["sha256"] = inp["sha256"].upper()
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_content_not_strict_base64(self):
        f = self.forger()
        inp = body(f.bundle, self.INPUT)["outputs"]["input"]
        inp["content"] = inp["content"][:60] + "\n" + inp["content"][60:]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_unknown_kind(self):
        f = self.forger()
        body(f.bundle, self.INPUT)["outputs"]["input"]["kind"] = "csr"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_name_not_a_string(self):
        f = self.forger()
        body(f.bundle, self.INPUT)["outputs"]["input"]["name"] = 1
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_without_content(self):
        f = self.forger()
        del body(f.bundle, self.INPUT)["outputs"]["input"]["content"]
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.INPUT)

    def test_input_extra_members_allowed(self):  # "has"
        f = self.forger()
        body(f.bundle, self.INPUT)["outputs"]["input"]["words"] = "not checked"
        self.expect(f.resign(), "complete")

    # --- sign-certificate (§6.10)

    def test_certificate_signed_by_another_key(self):
        f = self.forger()
        out = body(f.bundle, self.SIGN)["outputs"]["certificate"]
        out["pem"] = issue(x509.load_pem_x509_certificate(out["pem"].encode()).public_key(),
                           ec_key("EC-P384"), "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_certificate_of_another_key(self):
        f = self.forger()
        body(f.bundle, self.SIGN)["outputs"]["certificate"]["pem"] = issue(
            ec_key("EC-P256").public_key(), f.root[0], "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_certificate_not_pem(self):
        f = self.forger()
        body(f.bundle, self.SIGN)["outputs"]["certificate"]["pem"] = "not a certificate"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_input_named_nowhere(self):
        f = self.forger()
        body(f.bundle, self.SIGN)["inputs"]["input"] = "other"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_input_of_a_kind_without_key(self):  # load-input does not parse the content
        f = self.forger()
        body(f.bundle, self.INPUT)["outputs"]["input"]["kind"] = "revocation-list"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_input_not_a_request(self):
        f = self.forger()
        f.set_input(self.INPUT, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                b"-----END CERTIFICATE REQUEST-----\n")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_request_in_der_and_pem(self):  # the file may be PEM or DER
        for enc in (serialization.Encoding.DER, serialization.Encoding.PEM):
            f = self.forger()
            key = ec_key("EC-P256")
            f.set_input(self.INPUT, csr(key, encoding=enc))
            f.certify(self.SIGN, key.public_key(), SUBJECT)
            self.expect(f.resign(), "complete")

    def test_request_signature_not_checked(self):  # §6.10 names the key, not the request's PoP
        f = self.forger()
        key = ec_key("EC-P256")
        der = bytearray(csr(key, encoding=serialization.Encoding.DER))
        der[-1] ^= 1  # the request's own signature no longer verifies
        req = x509.load_der_x509_csr(bytes(der))
        self.assertFalse(req.is_signature_valid)
        f.set_input(self.INPUT, bytes(der))
        f.certify(self.SIGN, key.public_key(), req.subject)
        self.expect(f.resign(), "complete")

    def test_certificate_subject_is_checked(self):  # §6.10 binds subject, issuer, profile (S6)
        f = self.forger()
        out = body(f.bundle, self.SIGN)["outputs"]["certificate"]
        out["pem"] = issue(x509.load_pem_x509_certificate(out["pem"].encode()).public_key(),
                           f.root[0], "EC-P384", cn="Not What Was Requested")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.SIGN)

    def test_latest_input_of_a_name_counts(self):  # "the latest load-input with that name"
        for signed in (0, 1):  # the certificate is for the first request's key, or the latest
            f = self.forger()
            text = f.bundle["ceremony"]["scriptText"]
            block = re.search(r"(?ms)^  - id: request\n.*?(?=^  - id: sign\n)", text).group(0)
            f.set_script(text.replace(block, block + block.replace("id: request", "id: again")))
            again = f.insert_copy(self.INPUT, stepId="again")
            sign = seq_of(f.bundle, "sign", "sign-certificate")
            self.assertEqual(sign, again + 1)
            keys = [ec_key("EC-P256"), ec_key("EC-P256")]
            f.set_input(self.INPUT, csr(keys[0]))
            f.set_input(again, csr(keys[1]))
            f.certify(sign, keys[signed].public_key(), SUBJECT)
            verdict = (("not-intact", "ACTION_MALFORMED", sign), ("complete", None, None))[signed]
            self.expect(f.resign(), *verdict)

    def test_sign_without_root_key(self):
        f = self.forger()
        text = f.bundle["ceremony"]["scriptText"]
        text = re.sub(r"(?ms)^  - id: prove-root\n.*?(?=^  - id: request\n)", "", text)
        self.assertNotIn("prove-root-key", text)
        f.set_script(text)
        f.drop_entry(self.PROVE)
        sign = self.SIGN - 1
        self.assertEqual(body(f.bundle, sign)["action"], "sign-certificate")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", sign)


class CrossCertify(Base):
    source = "valid/cross-certify.bundle.json"

    def setUp(self):
        b = load(self.source)
        self.INPUT = seq_of(b, "other-root", "load-input")
        self.CROSS = seq_of(b, "cross-certify", "cross-certify")

    def test_rekeyed_is_complete(self):
        f = self.forger()
        self.assertEqual(body(f.bundle, self.INPUT)["outputs"]["input"]["kind"], "certificate")
        self.expect(f.resign(), "complete")

    def test_certificate_of_another_key(self):
        f = self.forger()
        body(f.bundle, self.CROSS)["outputs"]["certificate"]["pem"] = issue(
            ec_key("EC-P384").public_key(), f.root[0], "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CROSS)

    def test_input_certificate_in_der(self):
        f = self.forger()
        pem = base64.b64decode(body(f.bundle, self.INPUT)["outputs"]["input"]["content"])
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        f.set_input(self.INPUT, der)
        self.expect(f.resign(), "complete")


class IssueCrl(Base):
    source = "valid/issue-crl.bundle.json"

    def setUp(self):
        b = load(self.source)
        self.PROVE = seq_of(b, "prove-root", "prove-root-key")
        self.CRL = seq_of(b, "crl", "issue-crl")

    def test_rekeyed_is_complete(self):
        self.expect(self.forger().resign(), "complete")

    def test_signed_by_another_key(self):
        f = self.forger()
        body(f.bundle, self.CRL)["outputs"]["crl"]["pem"] = crl(ec_key("EC-P384"), "EC-P384")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CRL)

    def test_hashed_otherwise(self):  # §6.10: "hashed as §2.3 pairs the root key's algorithm"
        f = self.forger()
        body(f.bundle, self.CRL)["outputs"]["crl"]["pem"] = crl(
            f.root[0], "EC-P384", hash_cls=hashes.SHA256)
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CRL)

    def test_other_pem_label(self):
        f = self.forger()
        body(f.bundle, self.CRL)["outputs"]["crl"]["pem"] = crl(
            f.root[0], "EC-P384", label="CERTIFICATE")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CRL)

    def test_not_a_crl(self):
        f = self.forger()
        body(f.bundle, self.CRL)["outputs"]["crl"]["pem"] = self_signed(f.root[0]).replace(
            "CERTIFICATE", "X509 CRL")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CRL)

    def test_crl_tied_to_the_input(self):  # §6.10 now names the revocation list (S10)
        f = self.forger()
        body(f.bundle, self.CRL)["inputs"]["input"] = "nothing-loaded"
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", self.CRL)

    def test_without_root_key(self):
        f = self.forger()
        text = re.sub(r"(?ms)^  - id: prove-root\n.*?(?=^  - id: )", "",
                      f.bundle["ceremony"]["scriptText"])
        self.assertNotIn("prove-root-key", text)
        f.set_script(text)
        f.drop_entry(self.PROVE)
        crl_seq = self.CRL - 1
        self.assertEqual(body(f.bundle, crl_seq)["action"], "issue-crl")
        self.expect(f.resign(), "not-intact", "ACTION_MALFORMED", crl_seq)


class RevocationListFormat(unittest.TestCase):
    """§6.9's revocation-list format, read from the spec's words."""

    def test_lines(self):
        from indep import profile
        self.assertEqual(profile.revocation_list(
            b"# c\r\n0a1b2c keyCompromise # lost\r\n\r\n  0x01:23:45\tsuperseded \r\nFF\n"),
            [(0x0a1b2c, "keyCompromise"), (0x012345, "superseded"), (0xff, "unspecified")])

    def test_refused(self):
        from indep import profile
        for bad in (b"1234 superseded yesterday\n", b"1234 stolen\n", b"1234 KeyCompromise\n",
                    b"12g4\n", b"1" * 41 + b"\n", b"00ff\n0xFF superseded\n",
                    "1234\u00a0superseded\n".encode(), b"12\xff\n"):
            self.assertIsInstance(profile.revocation_list(bad), str, bad)
