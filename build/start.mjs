#!/usr/bin/env node
// `npm start`: builds the renderer and the Electron bundles, then starts the
// desktop app (rehearsals use a fresh throwaway SoftHSM2 token; production
// needs CUSTOS_PKCS11_MODULE). Where no Electron binary is installed (as on
// machines that cannot download it) it says so and runs a headless rehearsal
// of the generation ceremony instead, so the quick start still shows Custos working.
import { spawnSync } from "node:child_process";
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

if (electron) process.exit(run(electron, [root]));

console.log(`
No Electron binary is installed (node_modules/electron/dist is missing), so the desktop
window cannot open here. On a machine that can download it:
    env -u ELECTRON_SKIP_BINARY_DOWNLOAD node node_modules/electron/install.js && npm start
Meanwhile, a headless rehearsal of the root key generation ceremony:
`);
const out = path.join(os.homedir(), ".custos", "rehearsals", new Date().toISOString().replace(/[:.]/g, "-"));
const status = run(process.execPath, [path.join(root, "bin", "custos.js"), "rehearse", path.join(root, "ceremony-scripts", "root-key-generation.yaml"), "--out", out]);
if (status === 0) console.log(`\nVerify it yourself:  npx custos verify ${path.join(out, "report.pdf")}`);
process.exit(status);
