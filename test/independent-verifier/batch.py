#!/usr/bin/env python3
"""Many verifications in one process, for test suites that judge hundreds of files.

Reads lines from stdin, each a JSON array of verify.py's arguments (["FILE", "--expect-head", "HEX"]),
and prints for each, in order, the one JSON line verify.py would print. Nothing else differs.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import verify  # noqa: E402


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        argv = json.loads(line)
        sys.stdout.write(json.dumps(verify.run(verify.parse_args(argv))) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
