import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";

/** Where distributions put SoftHSM2's PKCS#11 module; searched in order. */
export const SOFTHSM_CANDIDATES = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib64/pkcs11/libsofthsm2.so",
  "/usr/lib/pkcs11/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
  "/opt/homebrew/lib/softhsm/libsofthsm2.so",
  "/usr/local/opt/softhsm/lib/softhsm/libsofthsm2.so",
];

/**
 * Resolves the PKCS#11 module to load: an explicit path (configuration or
 * CUSTOS_PKCS11_MODULE) must exist; otherwise SoftHSM2 is searched for.
 */
export function findPkcs11Module(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ?? env.CUSTOS_PKCS11_MODULE;
  if (chosen) {
    if (!fs.existsSync(chosen)) {
      throw new CustosError(
        "HSM_MODULE_NOT_FOUND",
        `The PKCS#11 module ${chosen} does not exist.`,
        "Check the module path in the HSM vendor's documentation and in Custos's configuration.",
      );
    }
    return chosen;
  }
  const found = SOFTHSM_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) {
    throw new CustosError(
      "HSM_MODULE_NOT_FOUND",
      "SoftHSM2's PKCS#11 module was not found on this machine.",
      "Install it (Debian/Ubuntu: apt-get install softhsm2) or set CUSTOS_PKCS11_MODULE to your HSM's module.",
    );
  }
  return found;
}

/**
 * What is wrong with a path given for a file that must already exist (a module, a configuration file):
 * not absolute, nothing there, or not a regular file (symbolic links followed); null when it is fine.
 * Callers word the message for where the path came from.
 */
export function filePathProblem(p: string): "relative" | "missing" | "not-a-file" | null {
  if (!path.isAbsolute(p)) return "relative";
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return "missing";
  }
  return st.isFile() ? null : "not-a-file";
}
