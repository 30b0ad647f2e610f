// Lint = load: `custos lint`, `custos rehearse` and the app read a script the
// same way (regular file, size cap, strict UTF-8, no YAML tags) and a field
// pattern is compiled at lint time and matched in linear time.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import { checklist } from "../../electron/core/engine/actions/room";
import { lintScriptFile, loadScriptFile, loadScriptText } from "../../electron/core/script/load";
import { matchesFieldPattern } from "../../electron/core/script/pattern";
import { ROOT } from "../helpers/files";

const GEN_PATH = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const GEN = fs.readFileSync(GEN_PATH, "utf8");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-load-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function lintCli(...files: string[]) {
  const lines: string[] = [];
  const status = await main(["lint", ...files], { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  return { status, text: lines.join("\n") };
}

/** Lint and load must agree on every file: both refuse, with the same reason. */
async function bothRefuse(file: string, reason: RegExp) {
  const l = await lintCli(file);
  expect(l.status, l.text).toBe(1);
  expect(l.text).toMatch(reason);
  expect(l.text).not.toMatch(/\n\s+at /);
  expect(() => loadScriptFile(file)).toThrow(reason);
}

describe("one script reader for lint and load", () => {
  it("refuses /dev/zero and a FIFO at once instead of reading forever or hanging", async () => {
    const fifo = path.join(dir, "script.fifo");
    execFileSync("mkfifo", [fifo]);
    const t0 = Date.now();
    await bothRefuse("/dev/zero", /not a regular file/);
    await bothRefuse(fifo, /not a regular file/);
    await bothRefuse(dir, /it is a folder/);
    await bothRefuse(path.join(dir, "missing.yaml"), /no such file/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("refuses a file over the size cap without reading it all", async () => {
    const big = path.join(dir, "big.yaml");
    fs.writeFileSync(big, "#".repeat(300 * 1024));
    await bothRefuse(big, /larger than 256 KiB/);
  });

  it("refuses a script that is not valid UTF-8, naming the line (it would never verify or resume)", async () => {
    const f = path.join(dir, "latin1.yaml");
    fs.writeFileSync(f, Buffer.concat([Buffer.from(GEN.replace("title: Root key generation", "title: Root key g\u00e9n\u00e9ration").split("g\u00e9n")[0]!, "utf8"), Buffer.from([0xe9]), Buffer.from("n\u00e9ration\n", "latin1")]));
    await bothRefuse(f, /not valid UTF-8 \(line \d+\)/);
    // Valid UTF-8 with accents is fine, and its stored text hashes back to the same bytes.
    const ok = path.join(dir, "utf8.yaml");
    fs.writeFileSync(ok, GEN.replace("title: Root key generation", "title: Root key génération"));
    const loaded = loadScriptFile(ok);
    expect(loadScriptText(loaded.text).sha256).toBe(loaded.sha256);
  });

  it.each([
    ["!!js/function", "      - id: location\n        label: !!js/function 'function(){}'", /tags \(tag:yaml\.org,2002:js\/function\) are not allowed/],
    ["a custom tag", "      - id: location\n        label: !custom Place", /tags \(!custom\) are not allowed/],
    ["!!binary", "      - id: location\n        label: !!binary aGVsbG8=", /tags \(tag:yaml\.org,2002:binary\) are not allowed/],
  ])("refuses %s (lint used to pass it silently)", async (_name, replacement, reason) => {
    const f = path.join(dir, `tag-${_name.replace(/\W/g, "")}.yaml`);
    fs.writeFileSync(f, GEN.replace("      - id: location\n          label: Place of the ceremony".replace(/\n {10}/, "\n          "), replacement.replace(/\n {8}/, "\n          ")));
    expect(fs.readFileSync(f, "utf8")).not.toBe(GEN);
    await bothRefuse(f, reason);
  });

  it("refuses a field pattern that is not valid RE2 with its path", async () => {
    for (const [pattern, why] of [
      ["(a", /missing closing \)/],
      ["(a)\\1", /invalid escape/],
      ["(?=a)b", /unsupported Perl syntax/],
    ] as const) {
      const f = path.join(dir, "pattern.yaml");
      fs.writeFileSync(f, GEN.replace("          label: HSM bag serial number\n", `          label: HSM bag serial number\n          pattern: '${pattern}'\n`));
      const r = lintScriptFile(f);
      expect(r.issues).toContainEqual(expect.objectContaining({ path: expect.stringMatching(/^steps\[\d+\]\.params\.fields\[0\]\.pattern$/), message: expect.stringMatching(why) }));
      await bothRefuse(f, why);
    }
  });
});

describe("field patterns are matched in linear time", () => {
  it("a catastrophic pattern answers at once on a hostile entry", () => {
    const t0 = performance.now();
    expect(matchesFieldPattern("^(a+)+$", "a".repeat(40) + "b")).toBe(false);
    expect(matchesFieldPattern("(x+x+)+y", "x".repeat(500))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(matchesFieldPattern("[A-Z]{3}-\\d{6}", "TEB-123456")).toBe(true);
    expect(matchesFieldPattern("[A-Z]{3}-\\d{6}", "xTEB-123456")).toBe(false); // whole value only
  });

  it("the checklist step refuses a value over the length cap and checks the pattern with RE2", async () => {
    const run = (value: string, pattern = "^(a+)+$") =>
      checklist.run(
        { settings: { shares: 3 }, view: {}, driver: { checklist: async () => ({ serial: value }) } } as never,
        { items: [], fields: [{ id: "serial", label: "Bag serial", kind: "text", required: true, pattern }] } as never,
      );
    const t0 = performance.now();
    await expect(run("a".repeat(45) + "!")).rejects.toThrow(/does not have the expected form/);
    expect(performance.now() - t0).toBeLessThan(500);
    await expect(run("a".repeat(501))).rejects.toThrow(/longer than 500 characters/);
    await expect(run("aaaa")).resolves.toMatchObject({ inputs: { serial: "aaaa" } });
  });
});

describe("rehearse refuses what lint refuses, before writing anything", () => {
  it("a tagged script and a FIFO leave no --out folder behind", async () => {
    const f = path.join(dir, "tag-jsfunction.yaml");
    for (const [script, reason] of [
      [f, /tags \(.*\) are not allowed/],
      ["/dev/zero", /not a regular file/],
    ] as const) {
      const out = path.join(dir, `out-${path.basename(script)}`);
      const lines: string[] = [];
      const status = await main(["rehearse", script, "--out", out], { out: (s) => lines.push(s), err: (s) => lines.push(s) });
      expect(status).toBe(1);
      expect(lines.join("\n")).toMatch(reason);
      expect(fs.existsSync(out)).toBe(false);
    }
  });
});

