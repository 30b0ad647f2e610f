// The process that owns the window loads no native module: SQLite, PKCS#11
// and PDF work live in the core host. Checked on the built bundle, statically
// (what main.cjs requires) and at run time (main.cjs started under Node with a
// stand-in electron whose utility process is a real child running the real
// core host bundle; process.dlopen is watched in the main process).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../helpers/files";

const MAIN = path.join(ROOT, "dist", "electron", "main.cjs");

describe("the main-process bundle", () => {
  
  it("requires only electron and Node built-ins", () => {
    const requires = [...fs.readFileSync(MAIN, "utf8").matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
    const foreign = requires.filter((r) => r !== "electron" && !r.startsWith("node:") && !builtinModules.includes(r));
    expect(foreign).toEqual([]);
    for (const n of ["better-sqlite3", "graphene-pk11", "pkcs11js", "pdfkit", "better_sqlite3.node"]) expect(fs.readFileSync(MAIN, "utf8")).not.toContain(`require("${n}")`);
  });

  it("starts, answers through the core host child, quits cleanly, and dlopen()s nothing itself", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "build", "smoke-electron-bundle.cjs")], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 90_000 });
    const summary = JSON.parse(out.trim().split("\n").at(-1)!) as { ok: boolean; hostPid: number; mainPid: number; dlopened: string[]; nativeRequires: string[] };
    expect(summary.ok).toBe(true);
    expect(summary.hostPid).not.toBe(summary.mainPid);
    expect(summary.dlopened).toEqual([]);
    expect(summary.nativeRequires).toEqual([]);
  });
});
