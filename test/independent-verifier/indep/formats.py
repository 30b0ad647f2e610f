"""§1 conventions: integers, hex, hashes, base64, identifiers, timestamps."""

import base64
import re

MAX_SAFE = 2 ** 53 - 1
GENESIS = "0" * 64

STEP_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")
ROLE_ID = STEP_ID
ACTION = STEP_ID  # §1: step ids, role ids and actions share one pattern
PARTICIPANT_ID = re.compile(r"p[0-9]{2,3}")
HASH = re.compile(r"[0-9a-f]{64}")
TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{3}Z")
B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def is_int(v):
    """A JSON integer of §1: not a bool, integral, |v| <= 2^53 - 1.

    Values read from JSON are doubles (see jcs); values from SQLite columns are ints.
    """
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) <= MAX_SAFE
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf")) and v.is_integer() \
            and abs(v) <= MAX_SAFE
    return False


def only_integers(v):
    """§1: every number anywhere in v is an integer within range."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return True
    if isinstance(v, (int, float)):
        return is_int(v)
    if isinstance(v, list):
        return all(only_integers(x) for x in v)
    if isinstance(v, dict):
        return all(only_integers(x) for x in v.values())
    return False


def full(pattern, v):
    return isinstance(v, str) and pattern.fullmatch(v) is not None


def is_hash(v):
    return full(HASH, v)


def is_hex(v, nchars):
    return isinstance(v, str) and len(v) == nchars and re.fullmatch(r"[0-9a-f]*", v) is not None


def b64(v):
    """§1: the bytes of a canonical standard base64 string, or None."""
    if not isinstance(v, str) or not B64.fullmatch(v):
        return None
    try:
        raw = base64.b64decode(v, validate=True)
    except ValueError:
        return None
    if base64.b64encode(raw).decode("ascii") != v:
        return None  # non-zero padding bits
    return raw


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def is_timestamp(v):
    """§1: the pattern, and a real instant (calendar date and time of day that exist)."""
    m = full(TIMESTAMP, v) and TIMESTAMP.fullmatch(v)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if not 1 <= mo <= 12 or h > 23 or mi > 59 or s > 59:
        return False
    days = [31, 29 if _leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    return 1 <= d <= days


def has_control(s):
    """Control characters: Unicode category Cc (U+0000-U+001F, U+007F-U+009F)."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in s)


def hex_pin(v):
    """§10: HEX compared case-insensitively, after removing ':' and spaces."""
    return v.replace(":", "").replace(" ", "").lower()
