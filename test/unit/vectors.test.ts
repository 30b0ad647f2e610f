/**
 * docs/transcript-format.md §13: custos verify agrees with every test vector
 * (verdict, error code and entry), and the vectors themselves are what they
 * claim (each invalid one differs from a valid one).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../helpers/spawn";
import { judge, manifest } from "../vectors/check";

const vectors = manifest();

describe("test vectors (docs/transcript-format.md §13)", () => {
  it("cover every error code of §9 and every verdict", () => {
    const codes = new Set(vectors.map((v) => v.code).filter(Boolean));
    for (const c of [
      "HEADER_MALFORMED", "SCRIPT_HASH_MISMATCH", "SCRIPT_UNREADABLE", "NO_ENTRIES", "SEQUENCE", "AFTER_CLOSE", "BODY_NOT_CANONICAL",
      "BODY_MALFORMED", "BODY_MISMATCH", "BODY_HASH_MISMATCH", "CHAIN_BROKEN", "SIGNATURES_MALFORMED", "ENTRY_HASH_MISMATCH",
      "SIGNATURE_INVALID", "SIGNER_NOT_AUTHORISED", "OUT_OF_ORDER", "ACTION_MALFORMED", "ATTESTATION_MISSING", "HEADER_MISMATCH",
      "HEAD_MISMATCH", "BUNDLE_NOT_CANONICAL", "BUNDLE_MALFORMED", "SQLITE_SCHEMA", "SQLITE_INTEGRITY", "SQLITE_TYPES", "ORPHAN_ENTRIES",
      "REPORT_MISMATCH", "REPORT_ATTACHMENTS", "PIN_MISMATCH",
    ]) {
      expect(codes, c).toContain(c);
    }
    expect(new Set(vectors.map((v) => v.expect))).toEqual(new Set(["complete", "not-intact", "unreadable", "incomplete", "aborted"]));
  });

  it("the independent verifier, written from the spec alone in Python, agrees on every vector (test/independent-verifier)", async () => {
    const r = await run("python3", [path.join(__dirname, "..", "independent-verifier", "run-vectors.py")], { timeout: 300_000 });
    expect(r.status, r.stdout.split("\n").filter((l) => !l.startsWith("agree")).join("\n") + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/(\d+) of \1 vectors agree/);
  }, 300_000);

  it("the independent verifier's own rule tests pass (test/independent-verifier/tests: tampered copies it forges and re-signs)", async () => {
    const r = await run("python3", ["-m", "unittest", "discover", "-s", path.join(__dirname, "..", "independent-verifier", "tests")], { timeout: 300_000 });
    expect(r.status, r.stderr.slice(-4000)).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests[\s\S]*\nOK/);
  }, 300_000);

  for (const v of vectors) {
    it(`${v.file}: ${v.expect}${v.code ? ` ${v.code}` : ""}${v.seq ? ` at entry ${v.seq}` : ""} — ${v.description}`, async () => {
      const got = await judge(v);
      expect(got).toEqual({ expect: v.expect, ...(v.code ? { code: v.code } : {}), ...(v.seq ? { seq: v.seq } : {}) });
    });
  }
});
