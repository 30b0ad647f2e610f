import crypto from "node:crypto";
import path from "node:path";
import { CustosError } from "../errors";
import { Hsm, type TokenInfo } from "./hsm";
import { findPkcs11Module } from "./module-path";
import { writeSoftHsmConfig, type SoftHsmConfig } from "./softhsm";

/** A throwaway SoftHSM2 token folder for a rehearsal or a test. */
export interface RehearsalTokenDir extends SoftHsmConfig {
  modulePath: string;
  env: Record<string, string>;
}

const NOT_SOFTHSM_HINT =
  "A rehearsal makes and discards a throwaway token with random PINs; on a real HSM that would burn PIN tries and leave keys behind. Rehearse without --module (or with SoftHSM2's module), and qualify a real HSM with `custos hsm-check --module PATH`.";

/**
 * The module a rehearsal may use: SoftHSM2 only (issue 12: no real PIN is
 * burned by a rehearsal). CUSTOS_PKCS11_MODULE pointing at a vendor's module is
 * refused too, before any folder is made.
 */
export function rehearsalModule(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const mod = findPkcs11Module(explicit, env);
  if (!/^libsofthsm2\.so(\.\d+)*$/.test(path.basename(mod))) {
    throw new CustosError("REHEARSAL_NOT_SOFTHSM", `A rehearsal runs only on SoftHSM2; ${mod} is not SoftHSM2's module.`, NOT_SOFTHSM_HINT);
  }
  return mod;
}

/** Writes a SoftHSM config under dir; the token itself is initialised by the ceremony. */
export function prepareRehearsalTokenDir(dir: string, modulePath?: string): RehearsalTokenDir {
  const mod = findPkcs11Module(modulePath ?? undefined);
  const cfg = writeSoftHsmConfig(dir);
  return { ...cfg, modulePath: mod, env: { SOFTHSM2_CONF: cfg.configPath } };
}

/** Opens the module of a rehearsal token folder; a module that is not SoftHSM2 is closed and refused. */
export function openRehearsalHsm(t: RehearsalTokenDir): Hsm {
  const hsm = Hsm.open(t.modulePath, { env: t.env });
  if (!/softhsm/i.test(hsm.moduleInfo().manufacturer)) {
    const who = hsm.moduleInfo().manufacturer;
    hsm.close();
    throw new CustosError("REHEARSAL_NOT_SOFTHSM", `A rehearsal runs only on SoftHSM2; the module ${t.modulePath} says it is made by ${who}.`, NOT_SOFTHSM_HINT);
  }
  return hsm;
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

/**
 * After an interruption, destroys the objects a killed SoftHSM left half-made
 * (no label, no id: see HsmSession.destroyUnnamedObjects) on the token with
 * this serial (the one the rehearsal initialised) in a rehearsal's own token
 * folder, which nobody but the rehearsal ever uses. Returns one line per
 * object destroyed.
 */
export function sweepHalfMadeObjects(t: RehearsalTokenDir, userPin: string, serial: string): string[] {
  const hsm = openRehearsalHsm(t);
  const done: string[] = [];
  try {
    // Only the token this rehearsal initialised (its recorded serial): no other token is logged into.
    for (const token of hsm.tokens().filter((x) => x.initialized && x.serial === serial)) {
      const s = hsm.openSession(token);
      try {
        s.login("user", userPin);
        for (const what of s.destroyUnnamedObjects()) done.push(`a half-made ${what} (no label, no id) on token "${token.label}" destroyed`);
        s.logout();
      } finally {
        s.close();
      }
    }
  } finally {
    hsm.close();
  }
  return done;
}
