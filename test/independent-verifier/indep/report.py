"""§8: the PDF report, for a verifier that cannot render it.

What is checked (the spec's minimum for such a verifier, plus what §8 says the cover and the
footers show):

- REPORT_ATTACHMENTS (before the bundle is read): exactly one embedded file, named bundle.json
  (``pdfdetach -list``); exactly one ``%%EOF`` marker in the file, at its end (only end-of-line
  bytes may follow it).
- REPORT_MISMATCH (§7.5.3, after the bundle verified): on the cover (page 1, ``pdftotext -raw``)
  the bundle's head as 64 hex characters and as head words (§11); every 64-hex value on a cover
  line that mentions "head" is that head; when the last entry is the seal or an abort, the label
  "Final head for --expect-head" followed by that head, and otherwise no such label; every page
  shows the head and the script's SHA-256 (see README: the genuine renderer abbreviates both to
  16 hex characters in the footers, so a 16-character prefix is what is required).

A verifier that cannot render cannot see anything else (e.g. the mode printed on the cover), so
a report re-rendered with other content but the same head passes here; only `custos verify`'s
byte-for-byte comparison catches that.
"""

import os
import re
import shutil
import subprocess
import tempfile

from .errors import Fail, Unreadable
from .headwords import head_words

PREFIX = 16  # hex characters of the head / script hash a footer must show at least
_HEX64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])")
_FINAL_LABEL = "Final head for --expect-head"
_FINAL = re.compile(re.escape(_FINAL_LABEL) + r":?\s*([0-9a-f]{64})(?![0-9a-fA-F])")


def is_pdf(data):
    # Only a file that starts as a PDF is read as one (a bundle whose script text mentions
    # "%PDF-" must not be mistaken for a report).
    return data.startswith(b"%PDF-")


def _run(args):
    try:
        return subprocess.run(args, capture_output=True, check=False, timeout=120)
    except FileNotFoundError as exc:
        raise Unreadable(f"{args[0]} (poppler-utils) is not installed: cannot read a PDF") \
            from exc


def extract_bundle(path, data):
    """The bytes of the report's single bundle.json, after the structural rules of §8."""
    listing = _run(["pdfdetach", "-enc", "UTF-8", "-list", path])
    if listing.returncode != 0:
        raise Unreadable("not a PDF poppler can read: "
                         + listing.stderr.decode("utf-8", "replace").strip()[:200])
    lines = listing.stdout.decode("utf-8", "replace").splitlines()
    m = re.fullmatch(r"(\d+) embedded files?", lines[0].strip()) if lines else None
    if not m:
        raise Unreadable("pdfdetach gave an unexpected listing")
    names = [re.sub(r"^\d+:\s?", "", ln) for ln in lines[1:] if re.match(r"^\d+:", ln)]
    if int(m.group(1)) != 1 or names != ["bundle.json"]:
        raise Fail("REPORT_ATTACHMENTS", None,
                   f"{m.group(1)} embedded file(s) {names}; exactly one, bundle.json, is allowed")
    eofs = data.count(b"%%EOF")
    if eofs != 1 or not data.rstrip(b"\r\n").endswith(b"%%EOF"):
        raise Fail("REPORT_ATTACHMENTS", None,
                   f"{eofs} %%EOF marker(s), or bytes after the marker: an incremental update")
    tmp = tempfile.mkdtemp(prefix="custos-indep-pdf-")
    try:
        out = os.path.join(tmp, "bundle.json")
        saved = _run(["pdfdetach", "-save", "1", "-o", out, path])
        if saved.returncode != 0 or not os.path.exists(out):
            raise Unreadable("the embedded bundle.json cannot be extracted")
        with open(out, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pages(path):
    res = _run(["pdftotext", "-raw", "-enc", "UTF-8", path, "-"])
    if res.returncode != 0:
        raise Fail("REPORT_MISMATCH", None, "pdftotext cannot read the report's text")
    pages = res.stdout.decode("utf-8", "replace").split("\f")
    while pages and not pages[-1].strip():
        pages.pop()
    return pages


def _normalise(text):
    text = re.sub(r"-[ \t]*\r?\n[ \t]*", "-", text)  # a label broken after a hyphen
    return re.sub(r"\s+", " ", text)


def check_binding(path, verified, head):
    """§7.5.3: REPORT_MISMATCH unless the report shows the attached bundle's head."""
    def mismatch(reason):
        return Fail("REPORT_MISMATCH", None, reason)

    pages = _pages(path)
    if not pages:
        raise mismatch("the report has no text")
    cover_raw = pages[0]
    cover = _normalise(cover_raw)
    if head not in _HEX64.findall(cover):
        raise mismatch("the cover does not show the bundle's head as 64 hex characters")
    for line in cover_raw.splitlines():
        if re.search(r"\bhead\b", line, re.IGNORECASE):
            for value in _HEX64.findall(line):
                if value != head:
                    raise mismatch(f"the cover shows head {value}, the bundle's is {head}")
    words = " ".join(head_words(head))
    if words not in cover:
        raise mismatch(f"the cover does not show the head words {words!r}")
    finals = _FINAL.findall(cover)
    if verified.state.closed_by:
        if not finals:
            raise mismatch(f"the cover of a {verified.state.closed_by}ed ceremony lacks "
                           f"'{_FINAL_LABEL}: <hex>'")
    elif _FINAL_LABEL in cover:
        raise mismatch("the cover of an unfinished ceremony shows a final head")
    for value in finals:
        if value != head:
            raise mismatch(f"the cover's final head is {value}, the bundle's is {head}")
    sha = verified.header["scriptSha256"]
    for n, page in enumerate(pages, 1):
        if head[:PREFIX] not in page or sha[:PREFIX] not in page:
            raise mismatch(f"page {n} does not show the head and the script's SHA-256")
