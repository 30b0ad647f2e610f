import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync, spawnSync } from "node:child_process";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = path.join(ROOT, "bin", "custos.js");

/** Every regular file below dir (relative paths). */
export function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out;
}

/** Needles for a secret: raw bytes, hex (both cases) and base64 at every alignment. */
export function secretForms(secret: Uint8Array): Buffer[] {
  const b = Buffer.from(secret);
  const forms = [b, Buffer.from(b.toString("hex")), Buffer.from(b.toString("hex").toUpperCase())];
  for (let shift = 0; shift < 3; shift++) {
    const s = b.subarray(shift).toString("base64");
    // Drop the tail that depends on what follows the secret in a larger buffer.
    forms.push(Buffer.from(s.slice(0, Math.floor((b.length - shift) / 3) * 4)));
    forms.push(Buffer.from(b.subarray(shift).toString("base64url").slice(0, Math.floor((b.length - shift) / 3) * 4)));
  }
  return forms;
}

/** Runs the real custos command line; returns status and output. */
export function custos(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs an outside tool and returns stdout (throws with stderr on failure). */
export function tool(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}
