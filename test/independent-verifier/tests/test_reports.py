"""§8 rules 1-3 and §7.6 for PDF reports: small PDFs written by hand (tests/forge.py) around
re-keyed bundles.

    python3 -m unittest discover -s test/independent-verifier/tests
"""

import json
import shutil
import unittest

from common import HAS_POPPLER, Base
from forge import binding, dump, pdf


@unittest.skipUnless(HAS_POPPLER, "poppler-utils (pdfdetach, pdftotext) not installed")
class Reports(Base):
    def bundle(self):
        data = self.forger().resign()
        return data, json.loads(data)

    def test_binding_lines(self):
        data, obj = self.bundle()
        got = self.expect(pdf(["Cover", *binding(obj)], [("bundle.json", data)]), "complete",
                          suffix=".pdf")
        self.assertTrue(any("rule 4" in n for n in got.get("notes", [])))

    def test_mode_flipped(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj, mode="production"), [("bundle.json", data)]),
                    "not-intact", "REPORT_MISMATCH", suffix=".pdf")

    def test_line_missing(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj, closed=None), [("bundle.json", data)]),
                    "not-intact", "REPORT_MISMATCH", suffix=".pdf")

    def test_no_attachment(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), []), "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_other_name(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("b.json", data)]), "not-intact", "REPORT_ATTACHMENTS",
                    suffix=".pdf")

    def test_two_attachments(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data), ("x.txt", b"x")]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    @unittest.skipUnless(shutil.which("qpdf"), "qpdf not installed")
    def test_annotation_only(self):  # §8 rule 2: "it is the name-tree entry bundle.json"
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [], annotations=[("bundle.json", data)]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_annotation_besides_the_bundle(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data)],
                        annotations=[("bundle.json", data)]),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_incremental_update(self):
        data, obj = self.bundle()
        self.expect(pdf(binding(obj), [("bundle.json", data)], incremental=True),
                    "not-intact", "REPORT_ATTACHMENTS", suffix=".pdf")

    def test_attached_file_not_a_bundle_is_unreadable(self):
        self.expect(pdf(["x"], [("bundle.json", b'{"format": "other"}\n')]), "unreadable",
                    suffix=".pdf")

    def test_corrupt_pdf_has_no_readable_bundle(self):
        self.expect(b"%PDF-1.7\nnothing here\n%%EOF\n", "not-intact", "REPORT_ATTACHMENTS",
                    suffix=".pdf")

    def test_attached_bundle_not_intact(self):
        data, obj = self.bundle()
        obj["head"] = "0" * 64
        self.expect(pdf(binding(obj), [("bundle.json", dump(obj))]), "not-intact",
                    "HEAD_MISMATCH", suffix=".pdf")


if __name__ == "__main__":
    unittest.main()
