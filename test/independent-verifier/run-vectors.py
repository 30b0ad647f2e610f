#!/usr/bin/env python3
"""Run verify.py over every vector of test/vectors/manifest.json and compare with the manifest.

    python3 run-vectors.py [--vectors DIR] [--verbose] [--only FILE] [--subprocess]

Prints one line per vector, then a summary. A vector agrees when the verdict, the exit status of
§7.6, and (where the manifest gives them) the code and the seq are those of the manifest.

Vectors marked "needsRendering": true are caught only by §8 rule 4 (rendering the report again and
comparing bytes), which this verifier does not do: they are expected to be reported differently,
are listed apart ("rendering") with what this verifier gave, and are not failures.

Each vector is verified in this process (verify.py's parse_args, run and exit statuses), which
takes a fraction of the time of starting Python and loading `cryptography` 111 times; with
--subprocess each is verified by running `python3 verify.py FILE [pins]` and reading its output
line and exit status, as an auditor would.

Exits 0 only if every vector not marked needsRendering agrees.
"""

import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFY = os.path.join(HERE, "verify.py")
EXIT = {"complete": 0, "not-intact": 1, "unreadable": 2, "incomplete": 3, "aborted": 4}


def pin_args(pins):
    args = []
    if not pins:
        return args
    if "head" in pins:
        args += ["--expect-head", pins["head"]]
    for e in pins.get("entries", []):
        args += ["--expect-entry", f"{e['seq']}={e['hash']}"]
    if "scriptSha256" in pins:
        args += ["--expect-script-sha256", pins["scriptSha256"]]
    if "rootFingerprint" in pins:
        args += ["--expect-root-fingerprint", pins["rootFingerprint"]]
    for p in pins.get("participants", []):
        args += ["--expect-participant", f"{p['id']}={p['fingerprint']}"]
    unknown = set(pins) - {"head", "entries", "scriptSha256", "rootFingerprint", "participants"}
    if unknown:
        raise SystemExit(f"unknown pin kinds in the manifest: {sorted(unknown)}")
    return args


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vectors", default=os.path.join(HERE, "..", "vectors"))
    ap.add_argument("--verbose", action="store_true", help="print verify.py's output too")
    ap.add_argument("--only", metavar="FILE", help="run only this vector (its manifest path)")
    ap.add_argument("--subprocess", action="store_true",
                    help="run verify.py as a separate process for each vector")
    args = ap.parse_args()

    with open(os.path.join(args.vectors, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    vectors = manifest["vectors"]
    only = [v for v in vectors if v["file"] == args.only] if args.only else vectors
    if args.only and not only:
        raise SystemExit(f"{args.only}: not in the manifest")
    disagree, rendering = [], []
    for vec in only:
        got, status = (run_one if args.subprocess else run_in_process)(args.vectors, vec)
        problems = compare(vec, got, status)
        needs = vec.get("needsRendering") is True
        tag = "agree   " if not problems else ("rendering" if needs else "DISAGREE")
        line = f"{tag} {vec['file']}: {vec['expect']}"
        if vec.get("code"):
            line += f" {vec['code']}" + (f" @{vec['seq']}" if "seq" in vec else "")
        if problems:
            gave = f"{got.get('verdict')} (exit {status})"
            if got.get("code"):
                gave += f" {got['code']}" + (f" @{got['seq']}" if got.get("seq") else "")
            line += f"  <- this verifier gave {gave}"
            if needs:
                line += "; needsRendering: only §8 rule 4 (re-rendering) catches it"
                rendering.append((vec["file"], gave))
            else:
                line += " [" + "; ".join(problems) + "]"
                if got.get("reason"):
                    line += f"  ({got['reason']})"
                disagree.append(vec["file"])
        elif needs:
            line += "  (needsRendering, caught anyway)"
        print(line)
        if args.verbose:
            print("         " + json.dumps(got))
    n = len(only)
    checked = n - len(rendering)
    print(f"\n{checked - len(disagree)} of {checked} vectors agree"
          + (f" ({len(rendering)} more marked needsRendering, reported differently by this "
             "non-rendering verifier)" if rendering else ""))
    for f, gave in rendering:
        print(f"  needsRendering {f}: this verifier gave {gave}")
    if disagree:
        print("disagreements: " + ", ".join(disagree))
    return 0 if not disagree else 1


def run_one(vectors_dir, vec):
    cmd = [sys.executable, VERIFY, os.path.join(vectors_dir, vec["file"])]
    cmd += pin_args(vec.get("pins"))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        got = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        got = {"verdict": "?", "code": None, "seq": None,
               "reason": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return got, proc.returncode


_VERIFY = None


def run_in_process(vectors_dir, vec):
    """verify.py's main() without a new interpreter: (its JSON result, its exit status)."""
    global _VERIFY
    if _VERIFY is None:
        spec = importlib.util.spec_from_file_location("verify", VERIFY)
        _VERIFY = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_VERIFY)
    argv = [os.path.join(vectors_dir, vec["file"])] + pin_args(vec.get("pins"))
    out, saved = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        status = _VERIFY.main(argv)
    except Exception:  # noqa: BLE001 -- a crash is a disagreement, reported as one
        sys.stdout = saved
        return {"verdict": "?", "code": None, "seq": None,
                "reason": traceback.format_exc().strip().splitlines()[-1]}, None
    finally:
        sys.stdout = saved
    try:
        got = json.loads(out.getvalue().strip().splitlines()[-1])
    except (IndexError, ValueError):
        got = {"verdict": "?", "code": None, "seq": None, "reason": "no output"}
    return got, status


def compare(vec, got, status):
    problems = []
    if got.get("verdict") != vec["expect"]:
        problems.append(f"verdict {got.get('verdict')} (want {vec['expect']})")
    if status != EXIT[vec["expect"]]:
        problems.append(f"exit {status} (want {EXIT[vec['expect']]})")
    if vec["expect"] == "not-intact" and got.get("code") != vec.get("code"):
        problems.append(f"code {got.get('code')} (want {vec.get('code')})")
    if "seq" in vec and got.get("seq") != vec["seq"]:
        problems.append(f"seq {got.get('seq')} (want {vec['seq']})")
    if vec["expect"] == "not-intact" and "seq" not in vec and got.get("seq") is not None:
        problems.append(f"seq {got.get('seq')} (want none)")
    return problems


if __name__ == "__main__":
    sys.exit(main())
