"""§6.10: the files of signing ceremonies -- input files (certificate requests, certificates,
PEM or DER) and the key each names, and CRLs with their signature by the root key.

DER is cut by hand where the spec asks for exact bytes (the SubjectPublicKeyInfo as encoded, the
exact tbsCertList and signature BIT STRING); `cryptography` only confirms that the whole file
parses.
"""

import base64
import binascii
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from .cryptox import (ROOT_ALGORITHMS, SIGNATURE_FOR_KEY, _der_element, certificate_spki,
                      load_spki)


_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
CSR_LABELS = (b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST")
CERT_LABELS = (b"CERTIFICATE",)
CRL_LABELS = (b"X509 CRL",)


def pem_der(data, labels):
    """The DER bytes of the first PEM block of `data` (bytes) whose label is one of `labels`,
    or None. Text around the block is ignored (RFC 7468 explanatory text)."""
    for m in _PEM.finditer(data):
        if m.group(1) not in labels:
            continue
        body = re.sub(rb"[ \t\r\n]", b"", m.group(2))
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _is_pem(data):
    return b"-----BEGIN " in data


def _children(der, start, end):
    """The (start, content start, end) of each DER element between start and end."""
    out, pos = [], start
    while pos < end:
        el = _der_element(der, pos)
        if el[2] > end:
            raise ValueError("element runs past its parent")
        out.append(el)
        pos = el[2]
    return out


def _outer(der):
    """The elements inside the outer SEQUENCE, which must span all of der."""
    if not der or der[0] != 0x30:
        raise ValueError("not a SEQUENCE")
    _, pos, end = _der_element(der, 0)
    if end != len(der):
        raise ValueError("bytes after the outer SEQUENCE")
    return _children(der, pos, end)


def _certificate_der(data):
    """A certificate file's bytes (PEM: its first CERTIFICATE block; else DER) -> DER or None."""
    from cryptography import x509
    der = pem_der(data, CERT_LABELS) if _is_pem(data) else data
    if der is None:
        return None
    try:
        x509.load_der_x509_certificate(der)
    except (ValueError, TypeError):
        return None
    return der


def _request_der(data):
    """A PKCS#10 request file's bytes (PEM or DER) -> DER, or None."""
    from cryptography import x509
    der = pem_der(data, CSR_LABELS) if _is_pem(data) else data
    if der is None:
        return None
    try:
        x509.load_der_x509_csr(der)
    except (ValueError, TypeError):
        return None
    return der


def input_spki(kind, content):
    """§6.10: the SubjectPublicKeyInfo (bytes, as encoded in the file) of the key an input
    names -- the request's subject key for `certificate-request`, the certificate's key for
    `certificate` -- or None (another kind, or bytes that are not such a file).

    A file is read as PEM when it holds a PEM boundary (its first block of the right label),
    else as DER.
    """
    try:
        if kind == "certificate-request":
            der = _request_der(content)
            if der is None:
                return None
            # CertificationRequest ::= SEQUENCE { certificationRequestInfo, ... }
            # CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, [0] }
            info = _outer(der)[0]
            fields = _children(der, info[1], info[2])
            start, _, stop = fields[2]
            return bytes(der[start:stop]) if der[start] == 0x30 else None
        if kind == "certificate":
            der = _certificate_der(content)
            if der is None:
                return None
            from cryptography import x509
            return certificate_spki(x509.load_der_x509_certificate(der))
    except (ValueError, IndexError):
        return None
    return None


def load_crl(pem):
    """§6.10: a PEM (`X509 CRL`) DER CertificateList -> its DER bytes, or None."""
    from cryptography import x509
    if not isinstance(pem, str):
        return None
    try:
        der = pem_der(pem.encode("utf-8"), CRL_LABELS)
    except UnicodeEncodeError:
        return None
    if der is None:
        return None
    try:
        x509.load_der_x509_crl(der)
        tbs, alg, sig = _outer(der)
    except (ValueError, TypeError, IndexError):
        return None
    if der[tbs[0]] != 0x30 or der[alg[0]] != 0x30 or der[sig[0]] != 0x03:
        return None
    return der


def crl_signed_by(der, spki, key_algorithm):
    """§6.10: the CRL's signature, over the exact tbsCertList bytes, verifies with the root key,
    hashed as §2.3 pairs the root key's algorithm (ECDSA signatures DER-encoded, as in X.509)."""
    key = load_spki(spki)
    spec = ROOT_ALGORITHMS.get(SIGNATURE_FOR_KEY.get(key_algorithm))
    if key is None or spec is None:
        return False
    try:
        (tbs_start, _, tbs_end), _, (_, sig_pos, sig_end) = _outer(der)
    except (ValueError, IndexError):
        return False
    tbs = bytes(der[tbs_start:tbs_end])
    if sig_end - sig_pos < 1 or der[sig_pos] != 0:
        return False  # a BIT STRING with unused bits is not a signature
    signature = bytes(der[sig_pos + 1:sig_end])
    curve, hash_cls, _ = spec
    try:
        if curve == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(signature, tbs, padding.PKCS1v15(), hash_cls())
        else:
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
                return False
            key.verify(signature, tbs, ec.ECDSA(hash_cls()))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


# §6.9 paired AlgorithmIdentifiers (DER), by root key algorithm
PAIRED_ALGORITHM_ID = {
    "EC-P256": bytes.fromhex("300a06082a8648ce3d040302"),
    "EC-P384": bytes.fromhex("300a06082a8648ce3d040303"),
    "EC-P521": bytes.fromhex("300a06082a8648ce3d040304"),
    "RSA-3072": bytes.fromhex("300d06092a864886f70d01010b0500"),
    "RSA-4096": bytes.fromhex("300d06092a864886f70d01010b0500"),
}


def certificate_fields(der):
    """A certificate's DER -> dict of raw parts: outer_alg, inner_alg, serial (content octets),
    issuer, subject, spki (each element's bytes as encoded). Raises ValueError/IndexError."""
    tbs, alg, _ = _outer(der)
    f = _children(der, tbs[1], tbs[2])
    if der[f[0][0]] == 0xA0:
        f = f[1:]
    part = lambda el: bytes(der[el[0]:el[2]])
    serial = f[0]
    return {"outer_alg": part(alg), "inner_alg": part(f[1]),
            "serial": bytes(der[serial[1]:serial[2]]), "issuer": part(f[2]),
            "subject": part(f[4]), "spki": part(f[5])}


def crl_fields(der):
    """A CRL's DER -> outer_alg, inner_alg, issuer (bytes as encoded)."""
    tbs, alg, _ = _outer(der)
    f = _children(der, tbs[1], tbs[2])
    if der[f[0][0]] == 0x02:
        f = f[1:]
    return {"outer_alg": bytes(der[alg[0]:alg[2]]), "inner_alg": bytes(der[f[0][0]:f[0][2]]),
            "issuer": bytes(der[f[1][0]:f[1][2]])}


def input_subject(kind, content):
    """§6.10: the subject Name (bytes as encoded) of a request or certificate input, or None."""
    try:
        if kind == "certificate-request":
            der = _request_der(content)
            info = _outer(der)[0]
            start, _, stop = _children(der, info[1], info[2])[1]
            return bytes(der[start:stop])
        if kind == "certificate":
            return certificate_fields(_certificate_der(content))["subject"]
    except (ValueError, IndexError, TypeError):
        return None
    return None
