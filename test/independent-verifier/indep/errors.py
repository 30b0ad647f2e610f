"""Outcomes of a verification (§7.6, §9)."""

# §9, in the order of the table (for reference only; the check order is §7's).
CODES = (
    "HEADER_MALFORMED", "SCRIPT_HASH_MISMATCH", "SCRIPT_UNREADABLE", "NO_ENTRIES",
    "SEQUENCE", "AFTER_CLOSE", "BODY_NOT_CANONICAL", "BODY_MALFORMED", "BODY_MISMATCH",
    "BODY_HASH_MISMATCH", "CHAIN_BROKEN", "SIGNATURES_MALFORMED", "ENTRY_HASH_MISMATCH",
    "SIGNATURE_INVALID", "SIGNER_NOT_AUTHORISED", "OUT_OF_ORDER", "ACTION_MALFORMED",
    "ATTESTATION_MISSING", "HEADER_MISMATCH", "HEAD_MISMATCH", "BUNDLE_NOT_CANONICAL",
    "BUNDLE_MALFORMED", "SQLITE_SCHEMA", "SQLITE_INTEGRITY", "SQLITE_TYPES", "ORPHAN_ENTRIES",
    "REPORT_MISMATCH", "REPORT_ATTACHMENTS", "PIN_MISMATCH",
)

# §7.6: verdict -> exit status.
EXIT = {"complete": 0, "not-intact": 1, "unreadable": 2, "incomplete": 3, "aborted": 4,
        "usage-error": 2}

# §7.6: "the worst of theirs in the order 1, 3, 4, 0" (unreadable, 2, is worse than all:
# it is decided for the whole file before any ceremony is looked at).
SEVERITY = {"unreadable": 0, "not-intact": 1, "incomplete": 2, "aborted": 3, "complete": 4}


class Fail(Exception):
    """A failed check: the ceremony is not intact (exit 1)."""

    def __init__(self, code, seq=None, reason=""):
        assert code in CODES, code
        super().__init__(f"{code}{'' if seq is None else f' at entry {seq}'}: {reason}")
        self.code = code
        self.seq = seq
        self.reason = reason


class Unreadable(Exception):
    """Not a transcript this format version reads (exit 2)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason
