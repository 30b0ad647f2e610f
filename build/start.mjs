#!/usr/bin/env node
// `npm start`: until the desktop shell lands (issue 4) Custos runs headless.
// This rehearses the root key generation ceremony on a fresh throwaway
// SoftHSM2 token and prints where the rehearsal folder is.
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const out = path.join(os.homedir(), ".custos", "rehearsals", stamp);
const r = spawnSync(process.execPath, [path.join(root, "bin", "custos.js"), "rehearse", path.join(root, "ceremony-scripts", "root-key-generation.yaml"), "--out", out], { stdio: "inherit" });
if (r.status === 0) console.log(`\nVerify it yourself:  npx custos verify ${path.join(out, "report.pdf")}`);
process.exit(r.status ?? 1);
