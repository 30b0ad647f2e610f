"""§6.9: the revocation-list file and the certificate profile of a signing script, read from
the spec's words (not from Custos's code)."""

import re

REASONS = {"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3,
           "superseded": 4, "cessationOfOperation": 5, "certificateHold": 6,
           "privilegeWithdrawn": 9}
KEY_USAGES = ("digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
              "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly")
EKU = {"serverAuth": "1.3.6.1.5.5.7.3.1", "clientAuth": "1.3.6.1.5.5.7.3.2",
       "codeSigning": "1.3.6.1.5.5.7.3.3", "emailProtection": "1.3.6.1.5.5.7.3.4",
       "timeStamping": "1.3.6.1.5.5.7.3.8", "ocspSigning": "1.3.6.1.5.5.7.3.9"}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_URL = re.compile(r"^https?://\S+$")
_HEX = re.compile(r"^[0-9a-fA-F]{1,40}$")


def revocation_list(content):
    """§6.9: bytes -> list of (serial value, reason name), or a string saying what is wrong."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is not UTF-8"
    out, seen = [], set()
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0].strip(" \t\r")
        if not line:
            continue
        parts = re.split(r"[ \t]+", line)
        if len(parts) > 2:
            return f"line {n} has more than SERIAL REASON"
        serial = parts[0].replace(":", "")
        if serial[:2] in ("0x", "0X"):
            serial = serial[2:]
        if not _HEX.match(serial):
            return f"line {n}: {parts[0]!r} is not a hexadecimal serial"
        reason = parts[1] if len(parts) == 2 else "unspecified"
        if reason not in REASONS:
            return f"line {n}: {reason!r} is not a reason"
        value = int(serial, 16)
        if value in seen:
            return f"line {n}: serial {serial} twice"
        seen.add(value)
        out.append((value, reason))
    return out


def _list_of(v, check):
    return isinstance(v, list) and all(check(x) for x in v)


def _int_in(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def read_profile(p):
    """§6.9's profile table -> dict with defaults applied, or None when not of that form."""
    members = {"validityDays", "ca", "pathLength", "keyUsage", "extendedKeyUsage",
               "certificatePolicies", "crlDistributionPoints", "caIssuers", "ocsp",
               "nameConstraints", "keyPolicy"}
    if not isinstance(p, dict) or set(p) - members:
        return None
    if not _int_in(p.get("validityDays"), 1, 36500):
        return None
    ca = p.get("ca", True)
    if not isinstance(ca, bool):
        return None
    path = p.get("pathLength")
    if path is not None and not _int_in(path, 0, 10):
        return None
    ku = p.get("keyUsage")
    if not _list_of(ku, lambda x: x in KEY_USAGES) or not ku:
        return None
    eku = p.get("extendedKeyUsage", [])
    if not _list_of(eku, lambda x: isinstance(x, str) and (x in EKU or _OID.match(x))):
        return None
    pol = p.get("certificatePolicies", [])
    if not _list_of(pol, lambda x: isinstance(x, str) and _OID.match(x)):
        return None
    urls = {}
    for m in ("crlDistributionPoints", "caIssuers", "ocsp"):
        urls[m] = p.get(m, [])
        if not _list_of(urls[m], lambda x: isinstance(x, str) and _URL.match(x)):
            return None
    nc = p.get("nameConstraints")
    if nc is not None:
        if not isinstance(nc, dict) or set(nc) - {"permittedDns", "excludedDns"}:
            return None
        nc = {k: nc.get(k, []) for k in ("permittedDns", "excludedDns")}
        if not all(_list_of(v, lambda x: isinstance(x, str)) for v in nc.values()):
            return None
    kp = p.get("keyPolicy", {})
    if not isinstance(kp, dict) or set(kp) - {"rsaMinBits", "ecCurves", "ed25519"}:
        return None
    kp = {"rsaMinBits": kp.get("rsaMinBits", 3072),
          "ecCurves": kp.get("ecCurves", ["P-256", "P-384", "P-521"]),
          "ed25519": kp.get("ed25519", False)}
    if not isinstance(kp["rsaMinBits"], int) or not isinstance(kp["ed25519"], bool) or \
            not _list_of(kp["ecCurves"], lambda x: x in ("P-256", "P-384", "P-521")):
        return None
    return {"validityDays": p["validityDays"], "ca": ca, "pathLength": path, "keyUsage": ku,
            "extendedKeyUsage": [EKU.get(x, x) for x in eku], "certificatePolicies": pol,
            **urls, "nameConstraints": nc, "keyPolicy": kp}
