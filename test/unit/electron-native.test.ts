// build/electron-native.mjs: the Electron-ABI SQLite module is built into a
// folder of its own and its ABI is read from the module itself (nm -D), so a
// build that silently used Node's headers (npm's nodedir) is refused.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import dns from "node:dns/promises";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/files";

const SCRIPT = path.join(ROOT, "build", "electron-native.mjs");
const NODE_BUILD = path.join(ROOT, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
const ELECTRON_ABI = fs.readFileSync(path.join(ROOT, "node_modules", "electron", "abi_version"), "utf8").trim();
const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
const sha = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");

describe("electron-native", () => {
  it("refuses the project's Node-ABI module for Electron, naming both ABIs", () => {
    const r = run("--check", NODE_BUILD);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`built for NODE_MODULE_VERSION ${process.versions.modules}, but Electron`);
    expect(r.stderr).toContain(`needs ${ELECTRON_ABI}`);
  });

  it("accepts a module whose ABI is the one asked for, and a Node-API module for any runtime", () => {
    expect(run("--check", NODE_BUILD, "--abi", process.versions.modules).status).toBe(0);
    const napi = run("--check", path.join(ROOT, "node_modules", "pkcs11js", "build", "Release", "pkcs11.node"));
    expect(napi.status).toBe(0);
    expect(napi.stdout).toContain("Node-API");
  });

  it("offline: says it cannot fetch, exits 3, and leaves node_modules and native-electron/ alone", async () => {
    const online = await dns.lookup("github.com").then(
      () => true,
      () => false,
    );
    if (online) return; // where GitHub resolves, the build would really run (minutes): that is setup's job, not this test's
    const before = sha(NODE_BUILD);
    const hadOut = fs.existsSync(path.join(ROOT, "native-electron"));
    const r = run();
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot fetch Electron's headers or a prebuilt module/);
    expect(sha(NODE_BUILD)).toBe(before);
    expect(fs.existsSync(path.join(ROOT, "native-electron"))).toBe(hadOut);
  });
});
