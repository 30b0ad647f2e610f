import crypto from "node:crypto";
import { CustosError } from "../errors";
import { Hsm, type TokenInfo } from "./hsm";
import { findPkcs11Module } from "./module-path";
import { writeSoftHsmConfig, type SoftHsmConfig } from "./softhsm";

/** A throwaway SoftHSM2 token folder for a rehearsal or a test. */
export interface RehearsalTokenDir extends SoftHsmConfig {
  modulePath: string;
  env: Record<string, string>;
}

/** Writes a SoftHSM config under dir; the token itself is initialised by the ceremony. */
export function prepareRehearsalTokenDir(dir: string, modulePath?: string): RehearsalTokenDir {
  const mod = findPkcs11Module(modulePath ?? undefined);
  const cfg = writeSoftHsmConfig(dir);
  return { ...cfg, modulePath: mod, env: { SOFTHSM2_CONF: cfg.configPath } };
}

/** Opens the module of a rehearsal token folder. */
export function openRehearsalHsm(t: RehearsalTokenDir): Hsm {
  return Hsm.open(t.modulePath, { env: t.env });
}

/** Random PINs for simulated officers: digits, so any token accepts them. */
export function randomPin(length = 8): string {
  let s = "";
  while (s.length < length) s += crypto.randomInt(0, 10).toString();
  return s;
}

/** The first blank token (SoftHSM always offers one empty slot). */
export function blankToken(hsm: Hsm): TokenInfo {
  const t = hsm.tokens().find((x) => !x.initialized);
  if (!t) throw new CustosError("HSM_NO_BLANK_TOKEN", "No blank token is available.", "Attach a blank token, or create a new SoftHSM token folder.");
  return t;
}
