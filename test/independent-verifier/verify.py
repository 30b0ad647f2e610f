#!/usr/bin/env python3
"""Independent verifier of Custos ceremony transcripts (format 2), from docs/transcript-format.md.

    python3 verify.py FILE [--expect-head HEX] [--expect-entry SEQ=HEX]...
                           [--expect-script-sha256 HEX] [--expect-root-fingerprint HEX]
                           [--expect-participant ID=FPR]... [--ceremony ID]

FILE is a transcript.sqlite (read with its -wal, from a private copy), a bundle.json, or a PDF
report (§8 rules 1-3; this verifier cannot render, so rule 4 is skipped and the output says so).
Prints one JSON line {"verdict", "code", "seq", ...} and exits with the status of §7.6:
0 complete, 1 not intact, 2 unreadable (or a usage error: --ceremony naming a ceremony the file
does not hold), 3 intact so far (not complete), 4 aborted.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from indep import ceremony, pins as P, report, storage  # noqa: E402
from indep.errors import EXIT, SEVERITY, Fail, Unreadable  # noqa: E402

UNSIGNED_NOTE = ("the enrolment is not recorded, so nothing in this transcript is signed: "
                 "its mode, script and dates are unverified claims")
INCOMPLETE_NOTE = ("intact so far, not complete: a pause, a crash, or entries removed from the "
                   "end; only a pin (--expect-head) tells")


def _pair(text, what):
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"{what} must be of the form KEY=VALUE")
    return key, value


def _entry_pin(text):
    seq, value = _pair(text, "--expect-entry")
    if not seq.isdigit():
        raise argparse.ArgumentTypeError("--expect-entry SEQ must be a positive integer")
    return int(seq), value


def _participant_pin(text):
    return _pair(text, "--expect-participant")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--expect-head", metavar="HEX")
    ap.add_argument("--expect-entry", metavar="SEQ=HEX", action="append", default=[],
                    type=_entry_pin)
    ap.add_argument("--expect-script-sha256", metavar="HEX")
    ap.add_argument("--expect-root-fingerprint", metavar="HEX")
    ap.add_argument("--expect-participant", metavar="ID=FPR", action="append", default=[],
                    type=_participant_pin)
    ap.add_argument("--ceremony", metavar="ID",
                    help="verify only this ceremony (§7.6); a bundle's or report's one ceremony "
                         "must have this id; a ceremony the file does not hold is a usage error")
    args = ap.parse_args(argv)
    # A single-valued option given twice: argparse keeps the last, so the first would never be checked.
    for opt in ("--expect-head", "--expect-script-sha256", "--expect-root-fingerprint", "--ceremony"):
        given = [a for a in argv if a == opt or a.startswith(opt + "=")]
        if len(given) > 1:
            ap.error(f"{opt} was given {len(given)} times; give it once")
    return args


def _failed(err):
    out = {"verdict": "not-intact", "code": err.code, "seq": err.seq, "reason": err.reason}
    if getattr(err, "pins", None):
        out["pins"] = err.pins
    return out


def _header_id(cer):
    """The header's id as text, or None."""
    cid = cer.header.get("id") if isinstance(cer.header, dict) else None
    if isinstance(cid, bytes):
        try:
            return cid.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return cid if isinstance(cid, str) else None


def verify_one(cer, kind, path, pins):
    """One ceremony through §7.1-§7.5; a result dict."""
    report_notes = []
    try:
        v = ceremony.verify(cer)
        if kind == "pdf":
            report_notes = report.check_binding(path, v, cer.head)        # 7.5.3
        pin_results = P.check(pins, v) if pins else []                    # 7.5.4
    except Fail as err:
        res = _failed(err)
        if kind == "pdf" and err.code in ("PIN_MISMATCH", "REPORT_MISMATCH"):
            res["notes"] = [report.RULE4_NOTE]
        if isinstance(cer.header, dict) and isinstance(cer.header.get("id"), (str, bytes)):
            cid = cer.header["id"]
            res["ceremony"] = cid.decode("utf-8", "replace") if isinstance(cid, bytes) else cid
        return res
    res = {"verdict": v.verdict, "code": None, "seq": None, "ceremony": v.header["id"],
           "entries": len(v.state.hashes), "head": v.state.hashes[-1],
           "mode": v.state.opening["mode"]}
    if pin_results:
        res["pins"] = pin_results
    notes = list(report_notes)
    if v.state.enrolled is None:
        notes.append(UNSIGNED_NOTE)
    if v.verdict == "incomplete":
        notes.append(INCOMPLETE_NOTE)
    if notes:
        res["notes"] = notes
    return res


def run(args):
    pins = P.Pins(head=args.expect_head, entries=args.expect_entry,
                  script_sha256=args.expect_script_sha256,
                  root_fingerprint=args.expect_root_fingerprint,
                  participants=args.expect_participant)
    path = args.file
    file_notes = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return {"verdict": "unreadable", "code": None, "seq": None, "reason": str(exc)}
    try:
        if data.startswith(storage.SQLITE_MAGIC):
            kind = "sqlite"
            ceremonies = storage.load_sqlite(path)
        elif report.is_pdf(data):
            kind = "pdf"
            attached, file_notes = report.extract_bundle(path, data)
            ceremonies = [storage.load_bundle(attached)]
        else:
            kind = "bundle"
            ceremonies = [storage.load_bundle(data)]
    except Unreadable as exc:
        return {"verdict": "unreadable", "code": None, "seq": None, "reason": exc.reason}
    except Fail as err:
        return _failed(err)

    if not ceremonies:  # §7 preamble: file-level, before any ceremony is chosen
        return {"verdict": "not-intact", "code": "NO_ENTRIES", "seq": None,
                "reason": "the database holds no ceremony"}
    if args.ceremony is not None:
        # §7.6: "--ceremony ID verifies only that one (for a bundle or a report, its one ceremony
        # must have that id). Asking for a ceremony the file does not hold is a usage error,
        # exit 2." The id is the header's (the database row's, or the bundle's ceremony.id); a
        # bundle header without a string id is left to §7.1.1 (HEADER_MALFORMED).
        chosen = []
        for c in ceremonies:
            cid = _header_id(c)
            if (cid is None and kind != "sqlite") or cid == args.ceremony:
                chosen.append(c)
        if not chosen:
            return {"verdict": "usage-error", "code": None, "seq": None,
                    "reason": f"the file holds no ceremony {args.ceremony!r} (§7.6: a usage "
                              "error)"}
        ceremonies = chosen
    results = [verify_one(c, kind, path, pins) for c in ceremonies]
    for r in results:
        if file_notes:
            r["notes"] = file_notes + r.get("notes", [])
    worst = min(results, key=lambda r: SEVERITY[r["verdict"]])  # first of the worst, id order
    if len(results) == 1:
        return results[0]
    out = {k: worst.get(k) for k in ("verdict", "code", "seq", "reason") if k in worst}
    out["ceremonies"] = results
    return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args)
    try:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return EXIT[result["verdict"]]


if __name__ == "__main__":
    sys.exit(main())
