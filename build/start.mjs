#!/usr/bin/env node
// `npm start`: builds the renderer and the Electron bundles, then opens the
// desktop app (rehearsals use a fresh throwaway SoftHSM2 token; production
// needs the HSM's module in the settings or CUSTOS_PKCS11_MODULE). Before
// starting Electron it makes sure the Electron-ABI SQLite module exists and
// that Chromium's sandbox can start, and says what to do when not. Where no
// Electron binary is installed (as on machines that cannot download it) it
// says so and runs a headless rehearsal of the generation ceremony instead.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;

if (run("npm", ["run", "--silent", "build"]) !== 0) process.exit(1);

let electron = null;
try {
  const p = createRequire(import.meta.url)("electron");
  if (typeof p === "string" && fs.existsSync(p)) electron = p;
} catch {
  electron = null;
}

if (!electron) {
  console.log(`
No Electron binary is installed (node_modules/electron/dist is missing), so the desktop
window cannot open here. On a machine with internet access:
    build/setup.sh && npm start
Meanwhile, a headless rehearsal of the root key generation ceremony:
`);
  const out = path.join(os.homedir(), ".custos", "rehearsals", new Date().toISOString().replace(/[:.]/g, "-"));
  const status = run(process.execPath, [path.join(root, "bin", "custos.js"), "rehearse", path.join(root, "ceremony-scripts", "root-key-generation.yaml"), "--out", out]);
  if (status === 0) console.log(`\nVerify it yourself:  npx custos verify ${path.join(out, "report.pdf")}`);
  process.exit(status);
}

// The SQLite module for Electron's ABI (builds it if missing; up to date otherwise).
const native = run(process.execPath, [path.join(root, "build", "electron-native.mjs")]);
if (native !== 0) {
  console.error("\nstart: Custos cannot open its transcript database in Electron without that module; see above.");
  process.exit(1);
}

// Chromium's renderer sandbox: unprivileged user namespaces, or the setuid helper.
const read = (f, dflt) => {
  try {
    return fs.readFileSync(f, "utf8").trim();
  } catch {
    return dflt;
  }
};
const restricted = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0") === "1" || read("/proc/sys/kernel/unprivileged_userns_clone", "1") === "0" || read("/proc/sys/user/max_user_namespaces", "1") === "0";
const helper = path.join(path.dirname(electron), "chrome-sandbox");
const helperOk = (() => {
  try {
    const st = fs.statSync(helper);
    return st.uid === 0 && (st.mode & 0o4777) === 0o4755;
  } catch {
    return false;
  }
})();
if (process.platform === "linux" && restricted && !helperOk) {
  console.error(`
start: this kernel restricts unprivileged user namespaces (Ubuntu 24.04 does, through AppArmor),
so Chromium's renderer sandbox needs Electron's setuid-root helper, and Custos never runs without
the sandbox. Fix it once with
    build/setup.sh --fix-sandbox
which runs
    sudo chown root:root ${helper} && sudo chmod 4755 ${helper}
or install the packaged .deb (build/PACKAGING.md), which installs the helper that way.`);
  process.exit(1);
}

const child = spawn(electron, [root], { cwd: root, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => child.kill(s));
