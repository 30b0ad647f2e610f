"""Shared by the rule tests: run verify.py's run() on bytes, and the base test case."""

import importlib.util
import os
import shutil
import tempfile
import unittest

from forge import Forger, load

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("verify", os.path.join(HERE, "..", "verify.py"))
verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify)

HAS_POPPLER = shutil.which("pdfdetach") and shutil.which("pdftotext")


def run(data, *options, suffix=".json"):
    tmp = tempfile.mkdtemp(prefix="indep-test-")
    try:
        path = os.path.join(tmp, "file" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        return verify.run(verify.parse_args([path, *options]))
    finally:
        shutil.rmtree(tmp)


def entry(b, seq):
    return b["entries"][seq - 1]


def body(b, seq):
    return b["entries"][seq - 1]["body"]


def seq_of(b, step_id, action=None):
    """The seq of the first entry of script step `step_id` (and, when given, with that action),
    so tests follow the vectors when steps are added before the one they tamper with."""
    for e in b["entries"]:
        if e["body"]["stepId"] == step_id and action in (None, e["body"]["action"]):
            return e["body"]["seq"]
    with_action = f" with action {action!r}" if action else ""
    raise LookupError(f"no entry of step {step_id!r}{with_action} in this bundle")


def seq_of_action(b, action):
    """The seq of the first entry with this action."""
    for e in b["entries"]:
        if e["body"]["action"] == action:
            return e["body"]["seq"]
    raise LookupError(f"no entry with action {action!r} in this bundle")


def last_seq(b):
    """The seq of the last entry (the seal of a closed ceremony)."""
    return b["entries"][-1]["body"]["seq"]


class Base(unittest.TestCase):
    source = "valid/generation.bundle.json"

    def forger(self):
        return Forger(load(self.source))

    def expect(self, data, verdict, code=None, seq=None, *options, suffix=".json"):
        got = run(data, *options, suffix=suffix)
        self.assertEqual((got["verdict"], got.get("code"), got.get("seq")),
                         (verdict, code, seq), got.get("reason"))
        return got
