"""§6.9: whether an issued certificate follows its script's profile -- exactly the extensions
the profile gives (compared as parsed values), its validity, its key."""

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

_KU = {"digitalSignature": "digital_signature", "nonRepudiation": "content_commitment",
       "keyEncipherment": "key_encipherment", "dataEncipherment": "data_encipherment",
       "keyAgreement": "key_agreement", "keyCertSign": "key_cert_sign", "cRLSign": "crl_sign",
       "encipherOnly": "encipher_only", "decipherOnly": "decipher_only"}
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _bits(ku):
    out = set()
    for name, attr in _KU.items():
        try:
            if getattr(ku, attr):
                out.add(name)
        except ValueError:  # encipher/decipher only without keyAgreement
            pass
    return out


def _uris(names):
    return [n.value for n in names] if all(isinstance(n, x509.UniformResourceIdentifier)
                                           for n in names) else None


def follows(cert, prof, root_spki, root_der):
    """None when the certificate follows the profile, else what differs."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    try:
        exts = list(cert.extensions)
    except (ValueError, x509.DuplicateExtension):
        return "its extensions cannot be read (or one is there twice)"
    by = {}
    for e in exts:
        if e.oid in by:
            return f"extension {e.oid.dotted_string} twice"
        by[e.oid] = e
    want = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
            ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER}
    if prof["extendedKeyUsage"]:
        want.add(ExtensionOID.EXTENDED_KEY_USAGE)
    if prof["certificatePolicies"]:
        want.add(ExtensionOID.CERTIFICATE_POLICIES)
    if prof["crlDistributionPoints"]:
        want.add(ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if prof["caIssuers"] or prof["ocsp"]:
        want.add(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    nc = prof["nameConstraints"]
    if nc and (nc["permittedDns"] or nc["excludedDns"]):
        want.add(ExtensionOID.NAME_CONSTRAINTS)
    if set(by) != want:
        return "not the profile's set of extensions"
    critical = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.NAME_CONSTRAINTS}
    for oid, e in by.items():
        if e.critical != (oid in critical):
            return f"extension {oid.dotted_string} has the wrong criticality"
    bc = by[ExtensionOID.BASIC_CONSTRAINTS].value
    path = prof["pathLength"] if prof["ca"] else None
    if bc.ca != prof["ca"] or bc.path_length != path:
        return "basicConstraints are not the profile's (cA, pathLength)"
    if _bits(by[ExtensionOID.KEY_USAGE].value) != set(prof["keyUsage"]):
        return "keyUsage is not the profile's"
    if by[ExtensionOID.SUBJECT_KEY_IDENTIFIER].value.digest != \
            x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest:
        return "subjectKeyIdentifier is not method 1's"
    aki = by[ExtensionOID.AUTHORITY_KEY_IDENTIFIER].value
    root_key = load_der_public_key(root_spki)
    if aki.key_identifier != x509.SubjectKeyIdentifier.from_public_key(root_key).digest or \
            aki.authority_cert_issuer is not None or aki.authority_cert_serial_number is not None:
        return "authorityKeyIdentifier is not the root key's identifier alone"
    if prof["extendedKeyUsage"] and \
            [o.dotted_string for o in by[ExtensionOID.EXTENDED_KEY_USAGE].value] != prof["extendedKeyUsage"]:
        return "extKeyUsage is not the profile's"
    if prof["certificatePolicies"]:
        pols = list(by[ExtensionOID.CERTIFICATE_POLICIES].value)
        if [p.policy_identifier.dotted_string for p in pols] != prof["certificatePolicies"] or \
                any(p.policy_qualifiers for p in pols):
            return "certificatePolicies are not the profile's"
    if prof["crlDistributionPoints"]:
        dps = list(by[ExtensionOID.CRL_DISTRIBUTION_POINTS].value)
        if any(d.relative_name is not None or d.reasons is not None or d.crl_issuer is not None
               or d.full_name is None or len(d.full_name) != 1 for d in dps) or \
                [_uris(d.full_name) for d in dps] != [[u] for u in prof["crlDistributionPoints"]]:
            return "cRLDistributionPoints are not the profile's"
    if prof["caIssuers"] or prof["ocsp"]:
        got = [(a.access_method, a.access_location) for a in by[ExtensionOID.AUTHORITY_INFORMATION_ACCESS].value]
        exp = [(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u)) for u in prof["ocsp"]] + \
              [(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)) for u in prof["caIssuers"]]
        if got != exp:
            return "authorityInfoAccess is not the profile's"
    if ExtensionOID.NAME_CONSTRAINTS in want:
        v = by[ExtensionOID.NAME_CONSTRAINTS].value
        sub = lambda names: [x509.DNSName(n) for n in names] or None
        if (v.permitted_subtrees or None) != sub(nc["permittedDns"]) or \
                (v.excluded_subtrees or None) != sub(nc["excludedDns"]):
            return "nameConstraints are not the profile's"
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    if (na - nb).total_seconds() != prof["validityDays"] * 86400:
        return "its validity is not validityDays long"
    if na > x509.load_der_x509_certificate(root_der).not_valid_after_utc:
        return "it outlives the root certificate"
    key, kp = cert.public_key(), prof["keyPolicy"]
    ok = (isinstance(key, rsa.RSAPublicKey) and key.key_size >= kp["rsaMinBits"]) or \
         (isinstance(key, ec.EllipticCurvePublicKey) and _CURVES.get(key.curve.name) in kp["ecCurves"]) or \
         (isinstance(key, ed25519.Ed25519PublicKey) and kp["ed25519"])
    return None if ok else "its key is not one keyPolicy allows"
