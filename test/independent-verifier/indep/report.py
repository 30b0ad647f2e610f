"""§8: the PDF report, for a verifier that cannot render it.

In the order of §7 (preamble) and §8:

- rule 1 (before anything else): the bytes ``%%EOF`` occur exactly once, followed only by CR/LF
  to the end of the file -- else REPORT_ATTACHMENTS (an incremental update);
- rule 2: exactly one file attachment in all, as ``pdfdetach -list`` counts them (the
  ``EmbeddedFiles`` name tree and any ``FileAttachment`` annotation), and it is the name-tree
  entry ``bundle.json`` (``qpdf --list-attachments`` lists the name tree only), that can be
  extracted -- else REPORT_ATTACHMENTS (§7.6: "one without a readable bundle.json is not
  intact"); its bytes are then read as a bundle file (§4.2: not a bundle by steps 1-3 is
  *unreadable*) and verified by §7;
- rule 3 (at §7.5.3, after the bundle verified): the text of page 1 (``pdftotext -f 1 -l 1``),
  each line trimmed, contains each binding line with the bundle's values -- else REPORT_MISMATCH;
- rule 4 (byte-for-byte re-rendering) is NOT performed: this verifier cannot render. Every report
  result says so. A report whose pages, drawing or metadata were changed but whose binding lines
  are intact passes here (the manifest marks those vectors ``needsRendering``).
"""

import os
import re
import shutil
import subprocess
import tempfile

from .errors import Fail, Unreadable
from .headwords import head_words

RULE4_NOTE = ("§8 rule 4 not checked: this verifier cannot render the report, so pages, drawing "
              "and metadata beyond the binding lines of page 1 are not compared; check the report "
              "with the Custos that made it, or verify its bundle.json alone")


def is_pdf(data):
    # Only a file that starts as a PDF is read as one (a bundle whose script text mentions
    # "%PDF-" must not be mistaken for a report).
    return data.startswith(b"%PDF-")


def _run(args):
    try:
        return subprocess.run(args, capture_output=True, check=False, timeout=120)
    except FileNotFoundError as exc:
        raise Unreadable(f"{args[0]} (poppler-utils) is not installed: this verifier cannot "
                         "read a PDF") from exc


def _attachments(reason):
    return Fail("REPORT_ATTACHMENTS", None, reason)


def extract_bundle(path, data):
    """§8 rules 1 and 2: (the bytes of the report's single bundle.json, notes)."""
    eofs = data.count(b"%%EOF")                                             # rule 1
    if eofs != 1 or not data.rstrip(b"\r\n").endswith(b"%%EOF"):
        raise _attachments(f"{eofs} %%EOF marker(s), or other bytes after the marker: "
                           "an incremental update")
    listing = _run(["pdfdetach", "-enc", "UTF-8", "-list", path])           # rule 2
    if listing.returncode != 0:
        raise _attachments("no readable bundle.json: pdfdetach cannot list the attachments ("
                           + listing.stderr.decode("utf-8", "replace").strip()[:200] + ")")
    lines = listing.stdout.decode("utf-8", "replace").splitlines()
    m = re.fullmatch(r"(\d+) embedded files?", lines[0].strip()) if lines else None
    if not m:
        raise _attachments("no readable bundle.json: pdfdetach gave an unexpected listing")
    names = [re.sub(r"^\d+:\s?", "", ln) for ln in lines[1:] if re.match(r"^\d+:", ln)]
    if int(m.group(1)) != 1 or names != ["bundle.json"]:
        raise _attachments(f"{m.group(1)} embedded file(s) {names}; exactly one, bundle.json, "
                           "is allowed")
    notes = []
    tree = _name_tree(path)
    if tree is None:
        notes.append("§8 rule 2 partly checked: qpdf is not installed, so a bundle.json attached "
                     "as a FileAttachment annotation could not be told from the name-tree entry")
    elif tree != ["bundle.json"]:
        raise _attachments(f"the one attachment is not the EmbeddedFiles name-tree entry "
                           f"bundle.json (name tree: {tree}): an annotation")
    tmp = tempfile.mkdtemp(prefix="custos-indep-pdf-")
    try:
        out = os.path.join(tmp, "bundle.json")
        saved = _run(["pdfdetach", "-save", "1", "-o", out, path])
        if saved.returncode != 0 or not os.path.exists(out):
            raise _attachments("no readable bundle.json: the embedded file cannot be extracted")
        with open(out, "rb") as f:
            return f.read(), notes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _name_tree(path):
    """The names of the EmbeddedFiles name tree (``qpdf --list-attachments``, which does not list
    annotations), or None when qpdf is not installed."""
    if not shutil.which("qpdf"):
        return None
    res = _run(["qpdf", "--list-attachments", path])
    if res.returncode not in (0, 3):  # 3: warnings
        raise _attachments("qpdf cannot list the document's embedded files")
    names = []
    for ln in res.stdout.decode("utf-8", "replace").splitlines():
        name, sep, _ = ln.rpartition(" -> ")
        if sep and not ln.startswith(" "):
            names.append(name)
    return names


def binding_lines(verified, head):
    """§8 rule 3: the lines page 1 must contain, with the bundle's values."""
    h, st = verified.header, verified.state
    closed = {"seal": "seal", "abort": "abort"}.get(st.closed_by, "no")
    return [
        "custos-report-binding: 2",
        f"ceremony: {h['id']}",
        f"mode: {h['mode']}",
        f"script-sha256: {h['scriptSha256']}",
        f"entries: {len(st.hashes)}",
        f"head: {head}",
        f"closed: {closed}",
    ]


def _page1(path):
    res = _run(["pdftotext", "-f", "1", "-l", "1", "-enc", "UTF-8", path, "-"])
    if res.returncode != 0:
        raise Fail("REPORT_MISMATCH", None, "pdftotext cannot extract the text of page 1")
    return res.stdout.decode("utf-8", "replace")


def check_binding(path, verified, head):
    """§7.5.3 for a verifier that cannot render: §8 rule 3. Returns informative notes."""
    text = _page1(path)
    lines = {ln.strip() for ln in text.replace("\f", "\n").splitlines()}
    for want in binding_lines(verified, head):
        if want not in lines:
            raise Fail("REPORT_MISMATCH", None,
                       f"page 1 lacks the binding line {want!r} (§8 rule 3)")
    notes = [RULE4_NOTE]
    # Informative only (§8: "the cover also shows the head in words"): never a failure.
    words = " ".join(head_words(head))
    if words not in " ".join(text.split()):
        notes.append(f"informative: page 1 does not show the head words {words!r}")
    return notes
