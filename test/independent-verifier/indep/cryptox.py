"""§2.2-§2.4a, §6.4 and §6.4a: hashes, the signed message, signatures, keys, fingerprints and
certificates (the files of §6.10 are in x509files.py)."""

import hashlib

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import jcs

MESSAGE_PREFIX = "custos-attestation-v2\n"

# §2.3: root-key signature algorithm -> (curve name or "rsa", hash, scalar length)
ROOT_ALGORITHMS = {
    "ECDSA-SHA256": ("secp256r1", hashes.SHA256, 32),
    "ECDSA-SHA384": ("secp384r1", hashes.SHA384, 48),
    "ECDSA-SHA512": ("secp521r1", hashes.SHA512, 66),
    "RSA-PKCS1-SHA256": ("rsa", hashes.SHA256, None),
}
# §6.5: root key algorithm (§6.4) -> signature algorithm
SIGNATURE_FOR_KEY = {
    "EC-P256": "ECDSA-SHA256", "EC-P384": "ECDSA-SHA384", "EC-P521": "ECDSA-SHA512",
    "RSA-3072": "RSA-PKCS1-SHA256", "RSA-4096": "RSA-PKCS1-SHA256",
}
_CURVE_NAMES = {"secp256r1": "EC-P256", "secp384r1": "EC-P384", "secp521r1": "EC-P521"}
# §2.3 / §2.4a: participant signature algorithms; the ECDSA ones are keys on the participant's
# own token (P-256 / P-384), signing as a root key does (raw r||s over SHA-256 / SHA-384)
PARTICIPANT_ALGORITHMS = ("Ed25519", "ECDSA-SHA256", "ECDSA-SHA384")
TOKEN_ALGORITHMS = ("ECDSA-SHA256", "ECDSA-SHA384")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def message(body_hash):
    """§2.2: the 86 bytes every signature of an entry signs."""
    return (MESSAGE_PREFIX + body_hash).encode("utf-8")


def entry_hash(body_hash, signatures):
    """§2.2: hex(SHA-256(JCS({bodyHash, signatures})))."""
    return sha256_hex(jcs.canonical({"bodyHash": body_hash, "signatures": signatures}))


# ---------------------------------------------------------------------------------------------
# Ed25519 (RFC 8032)

_P = 2 ** 255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def ed25519_point_valid(raw):
    """RFC 8032 §5.1.3: the 32 bytes decode to a point of the curve."""
    if len(raw) != 32:
        return False
    y = int.from_bytes(raw, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return False
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    vx2 = (v * x * x) % _P
    if vx2 == u:
        pass
    elif vx2 == (-u) % _P:
        x = (x * _SQRT_M1) % _P
    else:
        return False
    if x == 0 and sign == 1:
        return False
    return True


def verify_ed25519(public_key, signature, msg):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, msg)
        return True
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        return False


def participant_fingerprint(public_key):
    """§2.4: first 16 bytes of SHA-256 over the recorded public key bytes (the 32 raw bytes of
    a passphrase key, the SPKI DER of a token key), hex (grouping is for people)."""
    return hashlib.sha256(public_key).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# Root keys

def load_spki(spki, compressed_ok=False):
    """Parse DER SubjectPublicKeyInfo; None unless it is canonical DER of an EC or RSA key.

    An EC point must be uncompressed (§6.4 says so of root keys), unless compressed_ok: then the
    SPKI may also be the canonical DER of the same key with its point compressed (SEC 1 §2.3.3;
    the point's encoding is not a matter of DER, and §6.3 and §2.3 ask only for "canonical DER"
    / "SubjectPublicKeyInfo DER" of the participants' token keys).
    """
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm, TypeError):
        return None
    if isinstance(key, rsa.RSAPublicKey):
        again = key.public_bytes(serialization.Encoding.DER,
                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return key if again == spki else None  # BER, trailing bytes...: not DER as recorded
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    # Built here rather than trusted to public_bytes(), which keeps a parsed key's point form in
    # some versions of cryptography (38) and not in others (48).
    if spki == ec_spki(key) or (compressed_ok and spki == ec_spki(key, compressed=True)):
        return key
    return None  # BER, explicit curve parameters, another point form, trailing bytes...


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")              # OID 1.2.840.10045.2.1
_CURVE_OIDS = {"secp256r1": bytes.fromhex("06082a8648ce3d030107"),  # 1.2.840.10045.3.1.7
               "secp384r1": bytes.fromhex("06052b81040022"),        # 1.3.132.0.34
               "secp521r1": bytes.fromhex("06052b81040023")}        # 1.3.132.0.35


def ec_spki(key, compressed=False):
    """The canonical DER SubjectPublicKeyInfo of an EC key on a named curve (RFC 5480), its point
    uncompressed or compressed; None for another curve."""
    oid = _CURVE_OIDS.get(key.curve.name)
    if oid is None:
        return None
    algid = b"\x30" + _der_len(len(_EC_PUBLIC_KEY) + len(oid)) + _EC_PUBLIC_KEY + oid
    point = key.public_bytes(serialization.Encoding.X962,
                             serialization.PublicFormat.CompressedPoint if compressed
                             else serialization.PublicFormat.UncompressedPoint)
    bits = b"\x03" + _der_len(len(point) + 1) + b"\x00" + point
    return b"\x30" + _der_len(len(algid) + len(bits)) + algid + bits


def token_key(spki):
    """§6.3 / §2.4a: (curve, key) if spki is the canonical DER SPKI of an EC key on P-256 or
    P-384 with an uncompressed point -- curve "P-256" / "P-384", key the SPKI DER -- else None."""
    key = load_spki(spki)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    curve = {"secp256r1": "P-256", "secp384r1": "P-384"}.get(key.curve.name)
    if curve is None:
        return None
    return curve, ec_spki(key)


def root_key_algorithm(key):
    """§6.4: EC-P256/EC-P384/EC-P521/RSA-3072/RSA-4096 for a parsed key, or None."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _CURVE_NAMES.get(key.curve.name)
    if isinstance(key, rsa.RSAPublicKey):
        return {3072: "RSA-3072", 4096: "RSA-4096"}.get(key.key_size)
    return None


def verify_participant(algorithm, public_key, signature, msg):
    """§2.3 / §2.4a: a participant signature over msg. Ed25519: the 32 raw key bytes and a
    64-byte RFC 8032 signature; ECDSA-SHA256 / -SHA384: the SPKI DER of a P-256 / P-384 key and
    raw r||s over SHA-256 / SHA-384 of msg, "as for a root key" (the algorithm must fit the
    curve: ECDSA-SHA256 only with P-256, ECDSA-SHA384 only with P-384)."""
    if algorithm == "Ed25519":
        return verify_ed25519(public_key, signature, msg)
    if algorithm in TOKEN_ALGORITHMS:
        return verify_root(algorithm, public_key, signature, msg)
    return False


def verify_root(algorithm, spki, signature, msg):
    """§2.3: a root-key signature over msg (the HSM hashes it). The algorithm must fit the key:
    ECDSA-SHA256 only with P-256, -SHA384 with P-384, -SHA512 with P-521, RSA-PKCS1-SHA256 with an
    RSA key of 3072 or 4096 bits. The SPKI must be canonical DER; a compressed point parses (check
    10 judges "a key that does not parse"), whether it is *the* root key is check 13's."""
    spec = ROOT_ALGORITHMS.get(algorithm)
    key = load_spki(spki, compressed_ok=True)
    if spec is None or key is None:
        return False
    curve, hash_cls, n = spec
    try:
        if curve == "rsa":
            if not isinstance(key, rsa.RSAPublicKey) or key.key_size not in (3072, 4096):
                return False
            if len(signature) != key.key_size // 8:
                return False
            key.verify(signature, msg, padding.PKCS1v15(), hash_cls())
            return True
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            return False
        if len(signature) != 2 * n:
            return False
        r = int.from_bytes(signature[:n], "big")
        s = int.from_bytes(signature[n:], "big")
        if r == 0 or s == 0:
            return False
        key.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hash_cls()))
        return True
    except (InvalidSignature, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# Root certificate (§6.4a, §10)

def load_certificate(pem):
    """A PEM X.509 certificate -> cryptography Certificate, or None."""
    from cryptography import x509
    try:
        return x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError):
        return None


def _der_element(buf, pos):
    """(start, content start, end) of the DER element at pos; raises ValueError."""
    if pos + 2 > len(buf):
        raise ValueError("truncated DER")
    first = buf[pos + 1]
    if first < 0x80:
        length, hdr = first, 2
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + 2 + n > len(buf):
            raise ValueError("bad DER length")
        length, hdr = int.from_bytes(buf[pos + 2:pos + 2 + n], "big"), 2 + n
    end = pos + hdr + length
    if end > len(buf):
        raise ValueError("truncated DER")
    return pos, pos + hdr, end


def certificate_spki(cert):
    """The certificate's SubjectPublicKeyInfo exactly as encoded in it (bytes), or None.

    Taken from the DER of tbsCertificate rather than re-encoded from the parsed key, so that a
    certificate whose key is encoded otherwise (e.g. a compressed point) does not compare equal.
    """
    try:
        tbs = cert.tbs_certificate_bytes
        _, pos, end = _der_element(tbs, 0)          # TBSCertificate SEQUENCE
        if tbs[pos] == 0xA0:                          # [0] version
            pos = _der_element(tbs, pos)[2]
        for _ in range(5):                            # serial, signature, issuer, validity, subject
            pos = _der_element(tbs, pos)[2]
        start, _, stop = _der_element(tbs, pos)       # subjectPublicKeyInfo
        if tbs[start] != 0x30 or stop > end:
            return None
        return bytes(tbs[start:stop])
    except (ValueError, IndexError):
        return None


def certificate_signed_by(cert, spki):
    """The certificate's signature verifies with the key whose SPKI DER is spki."""
    key = load_spki(spki)
    if key is None:
        return False
    try:
        hash_alg = cert.signature_hash_algorithm
        if hash_alg is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            pad = getattr(cert, "signature_algorithm_parameters", None)
            if not isinstance(pad, (padding.PKCS1v15, padding.PSS)):
                pad = padding.PKCS1v15()
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad, hash_alg)
        else:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_alg))
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def certificate_sha256(cert):
    """SHA-256 hex of the certificate's DER (what `openssl x509 -fingerprint -sha256` shows)."""
    return sha256_hex(cert.public_bytes(serialization.Encoding.DER))
