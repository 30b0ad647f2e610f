#!/usr/bin/env python3
"""Run verify.py over every vector of test/vectors/manifest.json and compare with the manifest.

    python3 run-vectors.py [--vectors DIR] [--verbose]

Prints one line per vector (agree / DISAGREE), then a summary; exits 0 only if all agree.
A vector agrees when the verdict, the exit status of §7.6, and (where the manifest gives them)
the code and the seq are those of the manifest.
"""

import argparse
import json
import os
import subprocess
import sys

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
    args = ap.parse_args()

    with open(os.path.join(args.vectors, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    vectors = manifest["vectors"]
    disagree = []
    for vec in vectors:
        cmd = [sys.executable, VERIFY, os.path.join(args.vectors, vec["file"])]
        cmd += pin_args(vec.get("pins"))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        try:
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            got = {"verdict": "?", "code": None, "seq": None,
                   "reason": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
        problems = []
        if got.get("verdict") != vec["expect"]:
            problems.append(f"verdict {got.get('verdict')} (want {vec['expect']})")
        if proc.returncode != EXIT[vec["expect"]]:
            problems.append(f"exit {proc.returncode} (want {EXIT[vec['expect']]})")
        if vec["expect"] == "not-intact" and got.get("code") != vec.get("code"):
            problems.append(f"code {got.get('code')} (want {vec.get('code')})")
        if "seq" in vec and got.get("seq") != vec["seq"]:
            problems.append(f"seq {got.get('seq')} (want {vec['seq']})")
        if vec["expect"] == "not-intact" and "seq" not in vec and got.get("seq") is not None:
            problems.append(f"seq {got.get('seq')} (want none)")
        status = "agree   " if not problems else "DISAGREE"
        line = f"{status} {vec['file']}: {vec['expect']}"
        if vec.get("code"):
            line += f" {vec['code']}" + (f" @{vec['seq']}" if "seq" in vec else "")
        if problems:
            line += "  <- " + "; ".join(problems)
            if got.get("reason"):
                line += f"  [{got['reason']}]"
            disagree.append(vec["file"])
        print(line)
        if args.verbose:
            print("         " + proc.stdout.strip())
    n = len(vectors)
    print(f"\n{n - len(disagree)} of {n} vectors agree" +
          (f"; disagreements: {', '.join(disagree)}" if disagree else ""))
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
