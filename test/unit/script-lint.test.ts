import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { lintScriptText, loadScriptText, weakAlgorithmReason } from "../../electron/core/script";
import { ROOT, custos } from "../helpers/files";

const GEN = fs.readFileSync(path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml"), "utf8");

function lint(text: string) {
  return lintScriptText(text, "x.yaml").issues;
}

describe("ceremony script lint", () => {
  it("every shipped script passes", () => {
    const dir = path.join(ROOT, "ceremony-scripts");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(lint(fs.readFileSync(path.join(dir, f), "utf8")), f).toEqual([]);
  });

  it("refuses RSA-1024 with the field path", () => {
    const text = GEN.replace("algorithms: [EC-P384, EC-P256, EC-P521, RSA-3072, RSA-4096]", "algorithms: [EC-P384, RSA-1024]");
    const issues = lint(text);
    expect(issues).toContainEqual(expect.objectContaining({ path: "policy.algorithms[1]", message: expect.stringMatching(/RSA-1024 is refused/) }));
  });

  it("refuses a weak algorithm in step params with its path", () => {
    const text = GEN.replace("      onOrphan: destroy", "      onOrphan: destroy\n      algorithm: EC-P192");
    const issues = lint(text);
    expect(issues.some((i) => /^steps\[\d+\]\.params\.algorithm$/.test(i.path) && /256 bits/.test(i.message))).toBe(true);
  });

  it.each([
    ["DES", /DES is refused/],
    ["3DES", /3DES/],
    ["RC4", /RC4/],
    ["MD5", /MD5/],
    ["SHA-1", /SHA-1/],
    ["sha1WithRSAEncryption", /SHA-1/],
    ["RSA-1024", /2048/],
    ["P-224", /256 bits/],
    ["secp192r1", /256 bits/],
  ])("names %s as weak", (alg, re) => {
    expect(weakAlgorithmReason(alg)).toMatch(re);
  });

  it.each(["EC-P384", "EC-P256", "RSA-3072", "SHA-256", "AES-256"])("accepts %s", (alg) => {
    expect(weakAlgorithmReason(alg)).toBeUndefined();
  });

  it("refuses an unknown action with the field path", () => {
    const text = GEN.replace("action: air-gap-check", "action: launch-missiles");
    const issues = lint(text);
    expect(issues).toContainEqual(expect.objectContaining({ path: "steps[2].action" }));
  });

  it("refuses a threshold above the custodian count with the field path", () => {
    const text = GEN.replace("  threshold: 3\n  shares: 5", "  threshold: 6\n  shares: 5");
    const issues = lint(text);
    expect(issues).toContainEqual(expect.objectContaining({ path: "quorum.threshold", message: expect.stringMatching(/exceeds/) }));
  });

  it("refuses unknown keys, duplicate step ids, a seal that is not last, and unknown roles", () => {
    expect(lint(GEN.replace("kind: generation", "kind: generation\ncolour: blue"))).toContainEqual(expect.objectContaining({ path: "" }));
    expect(lint(GEN.replace("  - id: bags-in", "  - id: opening"))).toContainEqual(expect.objectContaining({ path: "steps[3].id" }));
    const reordered = GEN.replace(/  - id: seal[\s\S]*$/, "") .replace("steps:\n", "steps:\n  - id: seal\n    title: Seal\n    read: Seal.\n    action: seal-transcript\n");
    expect(lint(reordered).some((i) => /last step/.test(i.message))).toBe(true);
    expect(lint(GEN.replace("      - role: internal-witness\n\n  - id: bags-in", "      - role: janitor\n\n  - id: bags-in"))).toContainEqual(
      expect.objectContaining({ path: "steps[2].attest[0].role" }),
    );
  });

  it("refuses YAML alias bombs, duplicate keys and oversized files without hanging", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 12; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
    expect(lint(bomb.join("\n")).length).toBeGreaterThan(0);
    expect(lint("id: a\nid: b\n")[0]!.message).toMatch(/the key "id" appears twice in one mapping/);
    // Keys are one by their text: 1 and "1" are the same key (JavaScript and YAML 1.1 readers disagree otherwise).
    expect(lint('roles:\n  - id: a\n    1: x\n    "1": y\n').map((i) => i.message)).toContain('the key "1" appears twice in one mapping');
    // Found in one pass: 25,000 keys are refused (one duplicate at the end) in well under the seconds a pairwise check took.
    const many = Array.from({ length: 25_000 }, (_, i) => `k${i}: 1`).join("\n") + "\nk0: 2\n";
    expect(lintScriptText(many).issues.map((i) => i.message)).toContain('the key "k0" appears twice in one mapping');
    // U+2028, U+0085, U+2029: line breaks to YAML 1.1 (PyYAML), not to YAML 1.2: a rule could hide in a comment.
    for (const ch of ["\u2028", "\u0085", "\u2029"]) {
      expect(lint(`id: a # note${ch}    attest: none\n`)[0]!.message).toMatch(/line 1 holds U\+(2028|0085|2029), which YAML 1\.1 reads as a line break/);
    }
    expect(lint("x: " + "y".repeat(300 * 1024))[0]!.message).toMatch(/larger than/);
    expect(lint("[".repeat(5000) + "]".repeat(5000)).length).toBeGreaterThan(0);
  });

  it("loadScriptText throws one error listing every issue, and hashes the exact bytes", () => {
    expect(() => loadScriptText(GEN.replace("  threshold: 3", "  threshold: 9"), "g.yaml")).toThrowError(/quorum\.threshold/);
    const a = loadScriptText(GEN);
    const b = loadScriptText(GEN + "\n");
    expect(a.sha256).not.toBe(b.sha256);
  });

  it("custos lint exits 0 for shipped scripts and 1 with file and path for a bad one", () => {
    const ok = custos(["lint", "ceremony-scripts/root-key-generation.yaml"]);
    expect(ok.status, ok.stderr).toBe(0);
    const tmp = path.join(require("node:os").tmpdir(), `custos-bad-${process.pid}.yaml`);
    fs.writeFileSync(tmp, GEN.replace("defaultAlgorithm: EC-P384", "defaultAlgorithm: RSA-1024"));
    const bad = custos(["lint", tmp]);
    fs.rmSync(tmp);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${tmp}: policy.defaultAlgorithm: RSA-1024 is refused`);
  });
});
