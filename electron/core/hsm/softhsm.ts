import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../files/atomic";

/** A SoftHSM2 configuration whose tokens live in a folder of their own. */
export interface SoftHsmConfig {
  configPath: string;
  tokenDir: string;
}

/**
 * Writes a SoftHSM2 configuration for a throwaway token directory under `dir`.
 * SoftHSM reads SOFTHSM2_CONF at C_Initialize, so Hsm.open() must be given it.
 */
export function writeSoftHsmConfig(dir: string): SoftHsmConfig {
  const tokenDir = path.join(dir, "softhsm-tokens");
  fs.mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const configPath = path.join(dir, "softhsm2.conf");
  writeFileAtomic(
    configPath,
    [
      "# Throwaway SoftHSM2 token written by Custos for a rehearsal or a test.",
      `directories.tokendir = ${tokenDir}`,
      "objectstore.backend = file",
      "log.level = ERROR",
      "slots.removable = false",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return { configPath, tokenDir };
}
