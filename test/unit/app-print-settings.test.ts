// Printing through CUPS's lp without blocking, the settings file, the app log.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lpPrinter } from "../../electron/core/app/print";
import { readSettings, writeSettings } from "../../electron/core/app/settings";
import { openLog } from "../../electron/main/log";

const tmps: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "custos-unit-"));
  tmps.push(d);
  return d;
};
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const script = (dir: string, body: string) => {
  const f = path.join(dir, "lp");
  fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return f;
};

describe("lpPrinter", () => {
  it("feeds the PDF to lp on stdin and keeps the event loop running while lp works", async () => {
    const d = tmp();
    const lp = script(d, `sleep 0.5\ncat > "${d}/job.pdf"\necho "request id is q-7 (1 file(s))"\necho "$@" > "${d}/args"`);
    let ticks = 0;
    const t = setInterval(() => ticks++, 10);
    const r = await lpPrinter({ command: lp })(Buffer.from("%PDF-1.7 card"), "Custos share card");
    clearInterval(t);
    expect(r).toBe("request id is q-7 (1 file(s))");
    expect(fs.readFileSync(path.join(d, "job.pdf"), "utf8")).toBe("%PDF-1.7 card");
    expect(fs.readFileSync(path.join(d, "args"), "utf8").trim()).toBe("-t Custos share card -o media=A4 -");
    // 500 ms of lp: a synchronous spawn would have let no timer run at all.
    expect(ticks).toBeGreaterThan(20);
  });

  it.each([
    ["lp fails", (d: string) => script(d, 'echo "lp: Error - No default destination." >&2\nexit 1'), /Printing failed \(lp: Error - No default destination\.\)/],
    ["lp is missing", (d: string) => path.join(d, "no-such-lp"), /Printing failed \(spawn .*ENOENT\)/],
    ["lp hangs", (d: string) => script(d, "sleep 5"), /no answer from .* after 0 s/],
  ])("says what happened when %s", async (_n, make, re) => {
    const p = lpPrinter({ command: make(tmp()), timeoutMs: 300 })(Buffer.from("%PDF"), "x");
    await expect(p).rejects.toMatchObject({ code: "PRINT_FAILED", message: expect.stringMatching(re), hint: expect.stringContaining("lpstat") });
  });
});

describe("settings", () => {
  it("reads a missing file as empty, writes atomically, and keeps sections it does not know", () => {
    const f = path.join(tmp(), "sub", "settings.json");
    expect(readSettings(f)).toEqual({});
    fs.mkdirSync(path.dirname(f));
    fs.writeFileSync(f, JSON.stringify({ ui: { theme: "dark" } }));
    writeSettings(f, { pkcs11: { module: "/opt/hsm/lib.so" } });
    expect(JSON.parse(fs.readFileSync(f, "utf8"))).toEqual({ ui: { theme: "dark" }, pkcs11: { module: "/opt/hsm/lib.so" } });
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(f))).toEqual(["settings.json"]);
  });

  it.each([
    ["not JSON", "{pkcs11:", /not valid JSON/],
    ["a wrong type", JSON.stringify({ pkcs11: { module: 1 } }), /pkcs11\.module/],
    ["an unknown key in a known section", JSON.stringify({ pkcs11: { modul: "/x.so" } }), /pkcs11/],
  ])("names the problem in %s and leaves the file as it was", (_n, text, re) => {
    const f = path.join(tmp(), "settings.json");
    fs.writeFileSync(f, text);
    expect(() => readSettings(f)).toThrowError(re);
    expect(() => writeSettings(f, { pkcs11: { module: "/y.so" } })).toThrowError(re);
    expect(fs.readFileSync(f, "utf8")).toBe(text);
  });
});

describe("app log", () => {
  it("appends timestamped lines, indents continuation lines, and rotates a big log at start", async () => {
    const f = path.join(tmp(), "logs", "custos.log");
    const log = openLog(f);
    log.line("started");
    log.line("core host ended (signal SIGKILL)\nsecond line");
    log.lineSync("fatal");
    await log.flush();
    const lines = fs.readFileSync(f, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (started|fatal)$/);
    expect(lines).toContain("    second line");
    fs.writeFileSync(f, "x".repeat(2000));
    openLog(f, { maxBytes: 1000 });
    expect(fs.existsSync(`${f}.1`)).toBe(true);
    expect(fs.existsSync(f)).toBe(false);
  });
});
