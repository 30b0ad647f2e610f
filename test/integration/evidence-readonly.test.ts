// Invariant 11, reading side: no command changes a byte of what it reads.
// Every input folder is hashed (names, bytes, modes, mtimes; SQLite -wal and
// -shm included) before and after every command, on good and malformed
// inputs alike, and every refusal is a message, never a stack trace.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import { rehearse } from "../../electron/core/rehearse/rehearse";
import { CUSTOS_APPLICATION_ID, LATEST_SCHEMA_VERSION } from "../../electron/core/transcript/migrations";
import { CLI, ROOT } from "../helpers/files";

const GEN = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const REC = path.join(ROOT, "ceremony-scripts", "root-key-recovery.yaml");
let dir: string;
let good: string;
const inputs: Record<string, string> = {};

/** Everything in a folder, as a map from relative path to a fingerprint of the entry. */
function fingerprint(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      const rel = path.relative(folder, p);
      if (e.isDirectory()) {
        out[rel] = `dir ${st.mode}`;
        visit(p);
      } else out[rel] = `${st.mode} ${st.size} ${st.mtimeMs} ${e.isFile() ? crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex") : "special"}`;
    }
  };
  visit(folder);
  return out;
}

async function run(args: string[]) {
  const lines: string[] = [];
  const status = await main(args, { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  return { status, text: lines.join("\n") };
}

/** Makes a one-file input folder. */
function input(name: string, file: string, write: (p: string) => void): string {
  const d = path.join(dir, "inputs", name);
  fs.mkdirSync(d, { recursive: true });
  const p = path.join(d, file);
  write(p);
  inputs[name] = p;
  return p;
}

/** A real `custos rehearse` SIGKILLed after step 3: its transcript has a live -wal beside it. */
function crashedRehearsal(out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "rehearse", GEN, "--out", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c: string) => {
      if (/\[3\/16\]/.test(c)) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`rehearsal was not killed (${signal})`))));
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-readonly-"));
  good = path.join(dir, "good");
  await rehearse({ scriptPath: GEN, outDir: good, custodians: 3, threshold: 2 });
  inputs.good = path.join(good, "transcript.sqlite");
  const crashed = path.join(dir, "crashed");
  await crashedRehearsal(crashed);
  inputs.crashed = path.join(crashed, "transcript.sqlite");
  const t = fs.readFileSync(inputs.good);
  input("empty", "transcript.sqlite", (p) => fs.writeFileSync(p, ""));
  input("random", "transcript.sqlite", (p) => fs.writeFileSync(p, crypto.randomBytes(8192)));
  input("truncated", "transcript.sqlite", (p) => fs.writeFileSync(p, t.subarray(0, 4096)));
  input("foreign", "other.sqlite", (p) => {
    const db = new Database(p);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('not Custos')");
    db.close();
  });
  input("foreign-empty-db", "blank.sqlite", (p) => {
    const db = new Database(p);
    db.pragma("user_version = 0");
    db.close();
    fs.writeFileSync(p, fs.readFileSync(p)); // a 0-page SQLite file is 0 bytes: keep whatever SQLite wrote
  });
  input("newer-schema", "transcript.sqlite", (p) => {
    fs.writeFileSync(p, t);
    const db = new Database(p);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 7}`);
    db.close();
  });
  input("custos-id-no-tables", "transcript.sqlite", (p) => {
    const db = new Database(p);
    db.pragma(`application_id = ${CUSTOS_APPLICATION_ID}`);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION}`);
    db.exec("CREATE TABLE unrelated (x)");
    db.close();
  });
  input("bundle", "bundle.json", (p) => fs.copyFileSync(path.join(good, "bundle.json"), p));
  input("bundle-damaged", "bundle.json", (p) => fs.writeFileSync(p, fs.readFileSync(path.join(good, "bundle.json"), "utf8").slice(0, 5000)));
  input("script-latin1", "script.yaml", (p) => fs.writeFileSync(p, Buffer.concat([fs.readFileSync(GEN).subarray(0, 200), Buffer.from([0xe9, 0xff])])));
  const folderInput = path.join(dir, "inputs", "a-folder", "transcript.sqlite");
  fs.mkdirSync(folderInput, { recursive: true });
  inputs["a-folder"] = folderInput;
}, 180_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const folderOf = (p: string) => path.dirname(p);

describe("reading evidence changes nothing", () => {
  it("verify, report and export leave every input folder byte for byte as it was, good or malformed", async () => {
    const outs = path.join(dir, "outs");
    fs.mkdirSync(outs, { recursive: true });
    const seen: string[] = [];
    for (const [name, file] of Object.entries(inputs)) {
      if (name === "crashed") continue; // its own test below
      for (const cmd of ["verify", "report", "export"]) {
        const before = fingerprint(folderOf(file));
        const args = cmd === "verify" ? ["verify", file] : [cmd, file, "--out", path.join(outs, `${name}-${cmd}.out`)];
        const r = await run(args);
        const after = fingerprint(folderOf(file));
        expect(after, `${cmd} ${name} changed its input folder:\n${r.text}`).toEqual(before);
        expect(r.text, `${cmd} ${name}`).not.toMatch(/\n\s+at |node:internal|\.ts:\d+:\d+/);
        expect(r.text.length, `${cmd} ${name} said nothing`).toBeGreaterThan(10);
        seen.push(`${name} ${cmd} -> ${r.status}`);
      }
    }
    // The good transcript exports and prints; the malformed ones are refused.
    expect(seen).toContain("good export -> 0");
    expect(seen).toContain("good report -> 0");
    for (const bad of ["empty", "random", "truncated", "foreign", "newer-schema", "custos-id-no-tables", "a-folder"]) {
      expect(seen).toContain(`${bad} export -> 1`);
      expect(seen).toContain(`${bad} report -> 1`);
    }
    // A refused command leaves no output file behind.
    expect(fs.readdirSync(outs).filter((f) => /^(empty|random|truncated|foreign|newer|custos-id|a-folder)/.test(f))).toEqual([]);
  });

  // SQLite rebuilds the -shm wal-index of a live WAL even on a read-only connection, so evidence is
  // read through a private copy (TranscriptStore.openReadOnly): the crashed run's files stay as they were.
  it("verify, report and export leave a crashed run's transcript, -wal and -shm as they were", async () => {
    const file = inputs.crashed!;
    for (const cmd of ["verify", "report", "export"]) {
      const before = fingerprint(folderOf(file));
      const r = await run(cmd === "verify" ? [cmd, file] : [cmd, file, "--out", path.join(dir, `crashed-${cmd}.out`)]);
      expect(r.text).not.toMatch(/\n\s+at /);
      expect(fingerprint(folderOf(file)), `${cmd}: ${r.text}`).toEqual(before);
    }
  });

  it("a symbolic link to a crashed run's transcript is read with the -wal beside its target, as SQLite reads it; a -wal beside the link is no part of it", async () => {
    const file = inputs.crashed!;
    const link = path.join(dir, "link-to-crashed.sqlite");
    fs.symlinkSync(file, link);
    fs.writeFileSync(`${link}-wal`, crypto.randomBytes(4096));
    const real = await run(["verify", file]);
    const viaLink = await run(["verify", link]);
    expect(real.status, real.text).toBe(3);
    expect(viaLink.status, viaLink.text).toBe(3);
    const verdict = (t: string) => t.split("\n").filter((l) => !l.startsWith("file:"));
    expect(verdict(viaLink.text)).toEqual(verdict(real.text));
  });

  it("the newer-schema refusal is true when it says the file was not changed", async () => {
    const file = inputs["newer-schema"]!;
    const before = fingerprint(folderOf(file));
    const r = await run(["export", file, "--out", path.join(dir, "newer.json")]);
    expect(r.status).toBe(1);
    expect(r.text).toMatch(/newer Custos/);
    expect(fingerprint(folderOf(file))).toEqual(before);
  });

  it("report /dev/zero creates nothing in /dev, and a folder given as the transcript is a message", async () => {
    const devBefore = fs.readdirSync("/dev").sort();
    const sidecars = () => ["/dev/zero-journal", "/dev/zero-wal", "/dev/zero-shm"].map((f) => (fs.existsSync(f) ? `${f} ${fs.statSync(f).mtimeMs}` : `${f} absent`));
    const sidecarsBefore = sidecars();
    for (const cmd of ["report", "export", "verify"]) {
      const r = await run(cmd === "verify" ? [cmd, "/dev/zero"] : [cmd, "/dev/zero", "--out", path.join(dir, `zero-${cmd}`)]);
      expect(r.status, r.text).not.toBe(0);
      expect(r.text).not.toMatch(/\n\s+at /);
    }
    // /dev is shared with every process on the machine: compare, do not assume it was clean.
    expect(fs.readdirSync("/dev").sort()).toEqual(devBefore);
    expect(sidecars()).toEqual(sidecarsBefore);
    const r = await run(["report", inputs["a-folder"]!, "--out", path.join(dir, "folder.pdf")]);
    expect(r.text).toMatch(/folder|directory|not a file/i);
  });

  it("lint reads scripts without changing them", async () => {
    const before = fingerprint(path.join(ROOT, "ceremony-scripts"));
    const latin = fingerprint(folderOf(inputs["script-latin1"]!));
    expect((await run(["lint", ...fs.readdirSync(path.join(ROOT, "ceremony-scripts")).map((f) => path.join(ROOT, "ceremony-scripts", f))])).status).toBe(0);
    expect((await run(["lint", inputs["script-latin1"]!])).status).toBe(1);
    expect(fingerprint(path.join(ROOT, "ceremony-scripts"))).toEqual(before);
    expect(fingerprint(folderOf(inputs["script-latin1"]!))).toEqual(latin);
  });

  it("a recovery rehearsal reads its source folder without changing a byte of it", async () => {
    const before = fingerprint(good);
    const r = await run(["rehearse", REC, "--from", good, "--out", path.join(dir, "recovery")]);
    expect(r.status, r.text).toBe(0);
    expect(fingerprint(good)).toEqual(before);
    // And a damaged source is refused with a message that does not echo the file.
    const broken = path.join(dir, "broken-source");
    fs.cpSync(good, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, "rehearsal.json"), '{"format": "custos-rehearsal", "secret": "do-not-echo"');
    const brokenBefore = fingerprint(broken);
    const bad = await run(["rehearse", REC, "--from", broken, "--out", path.join(dir, "recovery-2")]);
    expect(bad.status).toBe(1);
    expect(bad.text).toMatch(/not a usable rehearsal folder: its rehearsal.json is damaged/);
    expect(bad.text).not.toContain("do-not-echo");
    expect(fingerprint(broken)).toEqual(brokenBefore);
    expect(fs.existsSync(path.join(dir, "recovery-2"))).toBe(false);
  });
});
