// The file helpers behind "evidence is never damaged" (Invariant 11): atomic
// writes, the one-writer lock, output-path checks and the fault explainer.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CustosError } from "../../electron/core/errors";
import { removeStaleTemps, tmpPathFor, writeFileAtomic } from "../../electron/core/files/atomic";
import { toCustosError } from "../../electron/core/files/fault";
import { FolderLock, HOLDER_FILE, LOCK_FILE } from "../../electron/core/files/lock";
import { checkOutPath, isInside } from "../../electron/core/files/paths";
import { ROOT } from "../helpers/files";

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "custos-files-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const errOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as CustosError;
  }
  throw new Error("expected a throw");
};

describe("writeFileAtomic", () => {
  it("replaces a file whole, leaves no temporary file, and keeps the mode asked for", () => {
    const d = tmp();
    const f = path.join(d, "report.pdf");
    fs.writeFileSync(f, "old");
    writeFileAtomic(f, Buffer.from("new content"), { mode: 0o600 });
    expect(fs.readFileSync(f, "utf8")).toBe("new content");
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(d)).toEqual(["report.pdf"]);
  });

  it("without overwrite refuses an existing file or a dangling symlink and leaves both as they were", () => {
    const d = tmp();
    const f = path.join(d, "card.pdf");
    fs.writeFileSync(f, "custodian's card");
    expect(errOf(() => writeFileAtomic(f, "x", { overwrite: false })).code).toBe("OUTPUT_EXISTS");
    expect(fs.readFileSync(f, "utf8")).toBe("custodian's card");
    const link = path.join(d, "link.pdf");
    fs.symlinkSync(path.join(d, "nowhere", "x.pdf"), link);
    expect(errOf(() => writeFileAtomic(link, "x", { overwrite: false })).code).toBe("OUTPUT_EXISTS");
    expect(fs.readlinkSync(link)).toBe(path.join(d, "nowhere", "x.pdf"));
    expect(fs.readdirSync(d).sort()).toEqual(["card.pdf", "link.pdf"]);
    writeFileAtomic(path.join(d, "new.pdf"), "fresh", { overwrite: false });
    expect(fs.readFileSync(path.join(d, "new.pdf"), "utf8")).toBe("fresh");
  });

  it("a failed write removes its temporary file and keeps the old file", () => {
    const d = tmp();
    const f = path.join(d, "bundle.json");
    fs.writeFileSync(f, "good");
    // A folder where the target is: rename fails after the temporary file was written.
    const target = path.join(d, "sub");
    fs.mkdirSync(path.join(target, "x"), { recursive: true });
    expect(() => writeFileAtomic(target, "data")).toThrow();
    expect(fs.readdirSync(d).sort()).toEqual(["bundle.json", "sub"]);
    expect(fs.readFileSync(f, "utf8")).toBe("good");
  });

  it("a leftover temporary file of a dead process with our pid is replaced; removeStaleTemps removes only its own names", () => {
    const d = tmp();
    const f = path.join(d, "backup.json");
    fs.writeFileSync(tmpPathFor(f), "half");
    writeFileAtomic(f, "whole");
    expect(fs.readFileSync(f, "utf8")).toBe("whole");
    fs.mkdirSync(path.join(d, "share-cards"));
    fs.writeFileSync(path.join(d, "share-cards", ".share-01-of-05.pdf.4242.custos-tmp"), "half");
    fs.writeFileSync(path.join(d, ".report.pdf.99.custos-tmp"), "half");
    fs.writeFileSync(path.join(d, "notes.custos-tmp"), "a person's file");
    expect(removeStaleTemps(d).map((p) => path.relative(d, p)).sort()).toEqual([".report.pdf.99.custos-tmp", path.join("share-cards", ".share-01-of-05.pdf.4242.custos-tmp")]);
    expect(fs.existsSync(path.join(d, "notes.custos-tmp"))).toBe(true);
  });
});

/** A second process that tries the lock and prints what happened. */
function otherProcess(dir: string, holdMs = 0): Promise<{ code: number | null; out: string }> {
  const code = `import { FolderLock } from ${JSON.stringify(path.join(ROOT, "electron/core/files/lock.ts"))};
try { const l = FolderLock.acquire(${JSON.stringify(dir)}, "test holder"); console.log("acquired", JSON.stringify(l.previous)); setTimeout(() => l.release(), ${holdMs}); }
catch (e) { console.log("refused", e.code, e.message); process.exitCode = 3; }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (c) => resolve({ code: c, out }));
  });
}

describe("FolderLock", () => {
  it("a second process is refused at once, naming the holder; after release it acquires", async () => {
    const d = tmp();
    const lock = FolderLock.acquire(d, "custos rehearse --resume");
    const t0 = Date.now();
    const second = await otherProcess(d);
    expect(second.code).toBe(3);
    expect(second.out).toMatch(new RegExp(`refused FOLDER_LOCKED .* in use by process ${process.pid} on \\S+ \\(custos rehearse --resume, since `));
    expect(Date.now() - t0).toBeLessThan(15_000); // no waiting on the lock (the time is Node's start)
    lock.release();
    expect(fs.existsSync(path.join(d, HOLDER_FILE))).toBe(false);
    expect((await otherProcess(d)).out).toMatch(/^acquired null/);
  });

  it("a second connection in the same process is refused too", () => {
    const d = tmp();
    const lock = FolderLock.acquire(d, "app");
    expect(errOf(() => FolderLock.acquire(d, "app")).code).toBe("FOLDER_LOCKED");
    lock.release();
    FolderLock.acquire(d, "app").release();
  });

  it("a killed holder leaves no stale lock: the next run acquires at once and learns who was interrupted", () => {
    const d = tmp();
    const code = `const D = require(${JSON.stringify(path.join(ROOT, "node_modules/better-sqlite3"))});
const fs = require("fs"); const db = new D(${JSON.stringify(path.join(d, LOCK_FILE))}, { timeout: 0 }); db.pragma("journal_mode = MEMORY"); db.exec("BEGIN IMMEDIATE");
fs.writeFileSync(${JSON.stringify(path.join(d, HOLDER_FILE))}, JSON.stringify({ pid: process.pid, host: "h", command: "killed run", since: "t" }));
process.kill(process.pid, "SIGKILL");`;
    const r = spawnSync(process.execPath, ["-e", code]);
    expect(r.signal).toBe("SIGKILL");
    const lock = FolderLock.acquire(d, "resume");
    expect(lock.previous?.command).toBe("killed run");
    expect(lock.previous?.pid).toBe(r.pid);
    lock.release();
    expect(fs.readdirSync(d)).toEqual([LOCK_FILE]);
  });
});

describe("checkOutPath", () => {
  it("refuses an --out that is an input, its SQLite sidecars, a symlink or hard link to it, or a path through ..", () => {
    const d = tmp();
    const t = path.join(d, "transcript.sqlite");
    fs.writeFileSync(t, "evidence");
    fs.symlinkSync(t, path.join(d, "link"));
    fs.linkSync(t, path.join(d, "hard"));
    fs.mkdirSync(path.join(d, "sub"));
    for (const out of [t, `${t}-wal`, `${t}-journal`, path.join(d, "link"), path.join(d, "hard"), path.join(d, "sub", "..", "transcript.sqlite")]) {
      expect(errOf(() => checkOutPath(out, [t], { force: true })).code, out).toBe("OUTPUT_IS_INPUT");
    }
    // A symlinked folder on the way counts too.
    fs.symlinkSync(d, path.join(d, "again"));
    expect(errOf(() => checkOutPath(path.join(d, "again", "transcript.sqlite"), [path.join(d, "link")], { force: true })).code).toBe("OUTPUT_IS_INPUT");
  });

  it("refuses an existing file without --force, a folder, a device; accepts a new file", () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, "old.json"), "x");
    expect(errOf(() => checkOutPath(path.join(d, "old.json"), [])).code).toBe("OUTPUT_EXISTS");
    expect(checkOutPath(path.join(d, "old.json"), [], { force: true })).toBe(path.join(d, "old.json"));
    expect(errOf(() => checkOutPath(d, [], { force: true })).code).toBe("IS_A_FOLDER");
    expect(errOf(() => checkOutPath("/dev/null", [], { force: true })).code).toBe("OUTPUT_NOT_FILE");
    expect(errOf(() => checkOutPath(path.join(d, "no", "such.json"), [])).code).toBe("NOT_FOUND");
    expect(checkOutPath(path.join(d, "new.json"), [])).toBe(path.join(d, "new.json"));
  });

  it("isInside follows symlinks", () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, "data"));
    fs.symlinkSync(path.join(d, "data"), path.join(d, "usb"));
    expect(isInside(path.join(d, "usb", "card.pdf"), path.join(d, "data"))).toBe(true);
    expect(isInside(path.join(d, "database", "card.pdf"), path.join(d, "data"))).toBe(false);
  });
});

describe("toCustosError", () => {
  const fsError = (code: string, p = "/x/report.pdf") => Object.assign(new Error(`${code}: raw, write`), { code, path: p });
  it.each([
    ["ENOSPC", "DISK_FULL", /the disk is full/, /Free some space/],
    ["EROFS", "READ_ONLY", /read-only/, /writable folder/],
    ["EACCES", "NO_PERMISSION", /permission denied/, /permissions/],
    ["EISDIR", "IS_A_FOLDER", /a folder, not a file/, /path of a file/],
    ["ENOENT", "NOT_FOUND", /no such file/, /Check the path/],
    ["EIO", "IO_ERROR", /input\/output error/, /Check the disk/],
  ])("%s says what happened, what is intact and what to do", (code, want, what, todo) => {
    const e = toCustosError(fsError(code), { doing: "writing /x/report.pdf", intact: "The transcript was not changed.", next: "Run the command again." });
    expect(e.code).toBe(want);
    expect(e.message).toMatch(what);
    expect(e.message).toMatch(/^Writing \/x\/report.pdf failed: .*The transcript was not changed\.$/);
    expect(e.hint).toMatch(todo);
    expect(e.hint).toMatch(/then run the command again\.$/);
    expect(e.message + e.hint).not.toMatch(/raw, write|\n\s+at /);
  });

  it("SQLite codes, a wrapped cause and unknown errors", () => {
    const full = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    expect(toCustosError(full).code).toBe("DISK_FULL");
    expect(toCustosError(Object.assign(new Error("x"), { code: "SQLITE_IOERR_FSYNC" })).code).toBe("IO_ERROR");
    expect(toCustosError(Object.assign(new Error("x"), { code: "SQLITE_BUSY" })).code).toBe("FOLDER_LOCKED");
    const step = new CustosError("STEP_FAILED", "Step 3 of 15 failed: the disk is full.", "Nothing was recorded.", { cause: fsError("ENOSPC") });
    const wrapped = toCustosError(step, { intact: "Steps 1-2 are kept.", next: "Run custos rehearse --resume D." });
    expect(wrapped.code).toBe("DISK_FULL");
    expect(wrapped.message).toBe("Step 3 of 15 failed: the disk is full. Steps 1-2 are kept.");
    expect(wrapped.hint).toBe("Free some space (or choose another disk), then run custos rehearse --resume D.");
    expect(toCustosError(wrapped)).toBe(wrapped); // explained once, not twice
    const plain = new CustosError("HSM_PIN_INCORRECT", "Wrong PIN.", "Try again.");
    expect(toCustosError(plain)).toBe(plain);
    const odd = toCustosError(new RangeError("bad thing\n    at foo (x.ts:1:1)"));
    expect(odd.code).toBe("INTERNAL");
    expect(odd.message).toBe("bad thing.");
  });
});
