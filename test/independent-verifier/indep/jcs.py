"""RFC 8785 JSON Canonicalization Scheme, and a strict JSON reader to go with it (§1, §4.2).

RFC 8785 works on I-JSON values: every number is an IEEE 754 double. The reader therefore turns
every JSON number into a Python float, exactly as the RFC's reference (ECMAScript JSON.parse) does,
so that "2.0", "2e0" and "2" all read as the double 2 and serialise as "2"; a bundle or stored body
that wrote them otherwise is then caught by comparing its bytes with the canonical form. Integers
above 2^53 lose precision the same way they do in ECMAScript (and are then non-canonical or out of
the range §1 allows).
"""

import json
import math
import re


class JCSError(ValueError):
    """The value has no RFC 8785 serialisation (NaN, infinity, lone surrogate, other type)."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _number(text):
    return float(text)


MAX_DEPTH = 64  # §1: arrays and objects nest at most 64 deep (the outermost counts as 1)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text):
    """Does the text nest arrays and objects more than MAX_DEPTH deep (strings skipped)?"""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def parse(text):
    """Parse JSON text (a str) strictly: RFC 8259 only (no NaN/Infinity), numbers as doubles.

    Raises ValueError on anything that is not JSON, and on JSON nested more than MAX_DEPTH deep
    (§1: such text is read as not JSON; it is checked first, so Python's recursion limit is never
    reached). Duplicate member names are accepted (the last wins, as in ECMAScript); callers detect
    them by comparing with the canonical form.
    """
    if not isinstance(text, str):
        raise ValueError("JSON text must be a str")
    if _too_deep(text):
        raise ValueError(f"arrays and objects nested more than {MAX_DEPTH} deep")
    return json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_no_constant)


# ---------------------------------------------------------------------------------------------
# Serialisation (RFC 8785 §3.2)

def _string(s):
    """RFC 8785 §3.2.2.2: JSON.stringify's escaping, literal UTF-8 for everything else."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}.get(
                o, "\\u%04x" % o))
        elif 0xD800 <= o <= 0xDFFF:
            # A lone surrogate (a pair would have been joined by the reader): not I-JSON, and
            # not encodable as UTF-8, so there is no canonical form.
            raise JCSError("lone surrogate in string")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number_text(x):
    """ECMAScript Number::toString for a finite double (RFC 8785 §3.2.2.3)."""
    if isinstance(x, bool):
        raise JCSError("bool is not a number")
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        raise JCSError("NaN or infinity")
    if x == 0:
        return "0"  # also for -0
    if x < 0:
        return "-" + _number_text(-x)
    # repr() gives the shortest digit string that reads back as x (the same digits as
    # ECMAScript's algorithm chooses); only the layout differs.
    mant, _, exp = repr(x).partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    e10 = exp - len(fp)
    while digits.endswith("0"):
        digits = digits[:-1]
        e10 += 1
    k = len(digits)          # number of significant digits, s = int(digits)
    n = e10 + k              # x = s * 10^(n-k)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(e)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(e)}"


def _utf16_key(name):
    # RFC 8785 §3.2.3: member names sorted by their UTF-16 code units. Big-endian UTF-16 bytes
    # compare in the same order as the code unit sequences.
    return name.encode("utf-16-be", "surrogatepass")


def serialize(value):
    """JCS(value) as a str."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(serialize(v) for v in value) + "]"
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise JCSError("member name is not a string")
        keys = sorted(value, key=_utf16_key)
        return "{" + ",".join(_string(k) + ":" + serialize(value[k]) for k in keys) + "}"
    raise JCSError(f"not a JSON value: {type(value).__name__}")


def canonical(value):
    """JCS(value): the UTF-8 bytes of its RFC 8785 serialisation. Raises JCSError."""
    try:
        return serialize(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # pragma: no cover - surrogates are caught above
        raise JCSError(str(exc)) from exc
