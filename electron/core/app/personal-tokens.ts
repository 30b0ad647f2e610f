/**
 * Which PKCS#11 module the participants' own tokens (smart cards, PIV keys,
 * USB tokens; docs/transcript-format.md §2.4a) are read through: the
 * environment (CUSTOS_PERSONAL_PKCS11_MODULE, CUSTOS_PERSONAL_PKCS11_INIT_ARGS,
 * CUSTOS_PERSONAL_SOFTHSM2_CONF for SoftHSM2 stand-ins), else settings.json
 * `personalTokens: { module, initArgs? }`, else the ceremony HSM's module.
 *
 * One loaded library is one module instance in a process (dlopen returns the
 * same copy for the same file, and C_Finalize is process-wide): a personal
 * module that is the ceremony HSM's own file is not opened a second time, the
 * ceremony's HSM is used. SoftHSM2 reads SOFTHSM2_CONF once, when it
 * initialises, so stand-in tokens under another SOFTHSM2_CONF need the module
 * at another path (a copy of libsofthsm2.so) — see the README.
 */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { filePathProblem, Hsm } from "../hsm";
import { hasText } from "./hsm-chooser";
import { readSettings } from "./settings";

export interface PersonalTokensModule {
  module: string;
  initArgs?: string;
  softhsmConfig?: string;
  source: "environment" | "settings";
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** An absolute path to an existing regular file, without control characters. */
function checkedFile(p: string, what: string, where: string): string {
  if (CONTROL.test(p)) throw new CustosError("PERSONAL_TOKENS_MODULE", `The ${what} given in ${where} contains control characters.`, `Give the plain full path of the ${what}.`);
  switch (filePathProblem(p)) {
    case "relative":
      throw new CustosError("PERSONAL_TOKENS_MODULE", `The ${what} given in ${where} must be a full path starting with "/"; "${p.slice(0, 200)}" is relative.`, `Give the full path of the ${what}.`);
    case "missing":
      throw new CustosError("PERSONAL_TOKENS_MODULE", `There is no ${what} at ${p} (given in ${where}).`, `Check the path, or remove it from ${where} to read personal tokens through the ceremony HSM's module.`);
    case "not-a-file":
      throw new CustosError("PERSONAL_TOKENS_MODULE", `${p} (given in ${where}) is not a regular file.`, `Give the ${what} itself, not a folder.`);
  }
  return path.resolve(p);
}

function checkedInitArgs(s: string | undefined, where: string): string | undefined {
  if (!hasText(s)) return undefined;
  if (CONTROL.test(s)) throw new CustosError("PERSONAL_TOKENS_MODULE", `The personal tokens' initialisation arguments in ${where} contain control characters.`, "Write them on one line without control characters.");
  return s;
}

/** The configured module of the personal tokens, or null for "the ceremony HSM's module". */
export function personalTokensModule(env: NodeJS.ProcessEnv, settingsFile: string | undefined): PersonalTokensModule | null {
  const conf = hasText(env.CUSTOS_PERSONAL_SOFTHSM2_CONF) ? checkedFile(env.CUSTOS_PERSONAL_SOFTHSM2_CONF, "SoftHSM2 configuration file", "CUSTOS_PERSONAL_SOFTHSM2_CONF") : undefined;
  if (hasText(env.CUSTOS_PERSONAL_PKCS11_MODULE)) {
    const module = checkedFile(env.CUSTOS_PERSONAL_PKCS11_MODULE, "PKCS#11 module", "CUSTOS_PERSONAL_PKCS11_MODULE");
    const initArgs = checkedInitArgs(env.CUSTOS_PERSONAL_PKCS11_INIT_ARGS, "CUSTOS_PERSONAL_PKCS11_INIT_ARGS");
    return { module, ...(initArgs ? { initArgs } : {}), ...(conf ? { softhsmConfig: conf } : {}), source: "environment" };
  }
  const s = settingsFile ? readSettings(settingsFile).personalTokens : undefined;
  if (s?.module) {
    const where = `the settings file ${settingsFile} (personalTokens)`;
    const module = checkedFile(s.module, "PKCS#11 module", where);
    const initArgs = checkedInitArgs(s.initArgs, where);
    return { module, ...(initArgs ? { initArgs } : {}), ...(conf ? { softhsmConfig: conf } : {}), source: "settings" };
  }
  return null;
}

const same = (a: string, b: string) => {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
};

/**
 * The engine dependency openPersonalTokens for a ceremony on `ceremonyModule`:
 * absent (the engine uses the ceremony's HSM) when nothing is configured or
 * the configured module is the ceremony HSM's own file.
 */
export function personalTokensDep(
  env: NodeJS.ProcessEnv,
  settingsFile: string | undefined,
  ceremony: { modulePath: string; softhsmConfig?: string },
): { openPersonalTokens?: () => Hsm } {
  const m = personalTokensModule(env, settingsFile);
  if (!m) return {};
  if (same(m.module, ceremony.modulePath)) {
    if (m.softhsmConfig && (!ceremony.softhsmConfig || !same(m.softhsmConfig, ceremony.softhsmConfig))) {
      throw new CustosError(
        "PERSONAL_TOKENS_MODULE",
        `The personal tokens' module ${m.module} is the ceremony HSM's own module, which is already loaded with another SoftHSM2 configuration; one loaded module reads one configuration.`,
        "For SoftHSM2 stand-in tokens, point CUSTOS_PERSONAL_PKCS11_MODULE at a copy of libsofthsm2.so at another path, or make the stand-in tokens in the ceremony's own token folder.",
      );
    }
    return {};
  }
  return {
    openPersonalTokens: () => {
      // SOFTHSM2_CONF is read at C_Initialize; put back afterwards so the ceremony's own module never sees it.
      const before = process.env.SOFTHSM2_CONF;
      try {
        return Hsm.open(m.module, { ...(m.initArgs ? { initArgs: m.initArgs } : {}), ...(m.softhsmConfig ? { env: { SOFTHSM2_CONF: m.softhsmConfig } } : {}) });
      } finally {
        if (m.softhsmConfig) {
          if (before === undefined) delete process.env.SOFTHSM2_CONF;
          else process.env.SOFTHSM2_CONF = before;
        }
      }
    },
  };
}
