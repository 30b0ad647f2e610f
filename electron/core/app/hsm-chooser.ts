/**
 * The production HSM, as the administrator chooses it on the home screen:
 * `hsm:check` runs the preflight of `custos hsm-check` on a module and token
 * they name, `hsm:choose` remembers a module found fit in settings.json
 * (module path and init arguments, never a PIN), `hsm:forget` goes back to
 * none. CUSTOS_PKCS11_MODULE (with CUSTOS_PKCS11_INIT_ARGS) stays an override:
 * when it is set it wins, and the remembered choice is shown as overridden.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { CustosError } from "../errors";
import { filePathProblem, Hsm, ROOT_KEY_ALGORITHMS, type PinRole } from "../hsm";
import { pickToken, preflightText, runPreflight, type PreflightReport } from "../hsm/preflight";
import { profileFor } from "../hsm/profiles";
import { readSettings, writeSettings } from "./settings";

/** Where the production module comes from, as app:info reports it. */
export interface ProductionHsm {
  /** The module a production ceremony uses now (null: production is unavailable). */
  module: string | null;
  initArgs: string | null;
  source: "environment" | "settings" | "none";
  /** What settings.json remembers (the administrator's choice), whether or not it is in force. */
  chosen: { module: string; initArgs: string | null } | null;
  /** The environment variable overrides a remembered choice. */
  overridden: boolean;
  /** settings.json could not be read (the message); the choice is then unknown. */
  settingsError: string | null;
}

/** What hsm:check answers: the verdict as plain data (no PIN, no stack trace). */
export type HsmCheckResult =
  | { verdict: "fit" | "not-fit"; module: string; initArgs: boolean; report: PreflightReport; text: string }
  | { verdict: "cannot-run"; module: string; initArgs: boolean; code: string; message: string; hint: string };

export interface HsmChooserOptions {
  /** <userData>/settings.json; without it nothing can be remembered. */
  settingsFile?: string;
  env: NodeJS.ProcessEnv;
  /** True while a ceremony is open: a check would share (and finalise) its module. */
  busy: () => boolean;
}

export const hasText = (s: string | undefined): s is string => s !== undefined && s.trim() !== "";

/** The module in force: the environment override, else the remembered choice, else none. */
export function productionHsm(o: Pick<HsmChooserOptions, "settingsFile" | "env">): ProductionHsm {
  let chosen: ProductionHsm["chosen"] = null;
  let settingsError: string | null = null;
  if (o.settingsFile) {
    try {
      const p = readSettings(o.settingsFile).pkcs11;
      if (p?.module) chosen = { module: p.module, initArgs: hasText(p.initArgs) ? p.initArgs : null };
    } catch (e) {
      settingsError = e instanceof CustosError ? e.message : String(e);
    }
  }
  const envModule = o.env.CUSTOS_PKCS11_MODULE;
  if (hasText(envModule)) {
    const envArgs = o.env.CUSTOS_PKCS11_INIT_ARGS;
    return { module: envModule, initArgs: hasText(envArgs) ? envArgs : null, source: "environment", chosen, overridden: chosen !== null, settingsError };
  }
  if (chosen) return { module: chosen.module, initArgs: chosen.initArgs, source: "settings", chosen, overridden: false, settingsError };
  return { module: null, initArgs: null, source: "none", chosen: null, overridden: false, settingsError };
}

/** A module path as typed: absolute, an existing regular file (symbolic links followed). Returns it normalised. */
export function checkedModulePath(p: string): string {
  const abs = path.isAbsolute(p) ? path.resolve(p) : p;
  switch (filePathProblem(abs)) {
    case "relative":
      throw new CustosError("HSM_MODULE_PATH", `The module path must be a full path starting with "/"; "${p.slice(0, 200)}" is relative.`, "Type the full path of your HSM vendor's PKCS#11 module, for example /opt/vendor/lib/libvendorpkcs11.so.");
    case "missing":
      throw new CustosError("HSM_MODULE_PATH", `There is no file at ${abs}.`, "Check the path of your HSM vendor's PKCS#11 module (a .so file) and that its software is installed.");
    case "not-a-file":
      throw new CustosError("HSM_MODULE_PATH", `${abs} is not a regular file.`, "Give the PKCS#11 module itself (a .so file), not a folder or a device.");
  }
  return abs;
}

/** The bytes of the module that was checked: a module replaced since its check is not the one found fit. */
function fingerprint(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

const keyOf = (module: string, initArgs: string | undefined) => `${fs.realpathSync(module)}\u0000${initArgs ?? ""}`;

/**
 * The handlers of hsm:check, hsm:choose and hsm:forget, and whether a check is running: a check
 * finalises its module when it ends (C_Finalize is process-wide), so no ceremony may open meanwhile.
 */
export function hsmChooser(o: HsmChooserOptions) {
  /** Verdicts of this session's checks, by module file and init arguments (no PIN is kept). */
  const verdicts = new Map<string, { fit: boolean; reasons: string[]; sha256: string }>();
  let checking = false;

  const notWhileOpen = () => {
    if (o.busy()) throw new CustosError("SESSION_BUSY", "A ceremony is open: checking or changing the production HSM now could disturb its HSM sessions.", "Leave the ceremony first (it can be resumed).");
  };

  async function check(req: ChannelRequest<"hsm:check">): Promise<HsmCheckResult> {
    // The PINs leave the request at once and are dropped when the check ends. (JavaScript strings cannot be
    // overwritten; what can be done is holding no reference, so nothing keeps them past this call.)
    const pins: Partial<Record<PinRole, string>> = { so: req.soPin, user: req.userPin };
    delete req.soPin;
    delete req.userPin;
    let key: string | undefined;
    try {
      notWhileOpen();
      if (checking) throw new CustosError("HSM_CHECK_BUSY", "A check is already running.", "Wait for its verdict.");
      const module = checkedModulePath(req.module);
      const initArgs = hasText(req.initArgs) ? req.initArgs : undefined;
      const side = req.side ?? "generate";
      const sha256 = fingerprint(module);
      key = keyOf(module, initArgs);
      checking = true;
      let hsm: Hsm | undefined;
      try {
        const profile = profileFor(module);
        try {
          hsm = Hsm.open(module, { initArgs });
        } catch (e) {
          if (e instanceof CustosError && e.code === "HSM_ARGUMENTS_BAD" && profile?.initArgsTemplate) {
            throw new CustosError(e.code, e.message, `${profile.name} needs initialisation arguments, for example: ${profile.initArgsTemplate}`);
          }
          throw e;
        }
        const t = req.token ?? {};
        const token = pickToken(hsm, { slotId: t.slot || undefined, serial: t.serial || undefined, label: t.label || undefined }, "Name the token by its slot, serial or label in the form.");
        const report = await runPreflight(hsm, {
          ref: token,
          algorithms: [...ROOT_KEY_ALGORITHMS],
          side,
          login: async (s, role) => {
            const pin = pins[role];
            if (pin === undefined) throw new CustosError("PIN_NEEDED", `The ${role === "so" ? "security officer" : "user"} PIN is needed for this check.`, "Type it in the form, then check again.");
            s.login(role, pin);
          },
          extraUnwrapAttributes: profile?.extraUnwrapAttributes,
          vendorWrapMechanisms: profile?.vendorWrapMechanisms,
        });
        verdicts.set(key, { fit: report.fit, reasons: report.reasons.length ? report.reasons : report.checks.filter((c) => c.status === "fail").map((c) => c.detail), sha256 });
        return { verdict: report.fit ? "fit" : "not-fit", module, initArgs: !!initArgs, report, text: preflightText(report) };
      } finally {
        checking = false;
        hsm?.close();
      }
    } catch (e) {
      // Could not run: the module, its init arguments, the token or a PIN. Said in words, as data; an
      // earlier fit verdict for the same module no longer stands.
      if (key) verdicts.delete(key);
      if (e instanceof CustosError && (e.code === "HSM_MODULE_PATH" || e.code === "SESSION_BUSY" || e.code === "HSM_CHECK_BUSY")) throw e;
      const err = e instanceof CustosError ? e : new CustosError("HSM_ERROR", e instanceof Error ? e.message.split("\n")[0]!.slice(0, 300) : String(e), "");
      return { verdict: "cannot-run", module: req.module, initArgs: hasText(req.initArgs), code: err.code, message: err.message, hint: err.hint };
    } finally {
      pins.so = undefined;
      pins.user = undefined;
    }
  }

  const handlers = {
    "hsm:check": check,
    async "hsm:choose"(req: ChannelRequest<"hsm:choose">): Promise<ProductionHsm> {
      notWhileOpen();
      if (!o.settingsFile) throw new CustosError("SETTINGS_NONE", "This Custos has no settings file, so it cannot remember a module.", "Set CUSTOS_PKCS11_MODULE instead.");
      const module = checkedModulePath(req.module);
      const initArgs = hasText(req.initArgs) ? req.initArgs : undefined;
      const v = verdicts.get(keyOf(module, initArgs));
      if (!v) {
        throw new CustosError("HSM_NOT_CHECKED", `${module}${initArgs ? " with these initialisation arguments" : ""} has not been checked since Custos started.`, "Check this HSM first: Custos remembers only a module found fit.");
      }
      if (!v.fit) {
        throw new CustosError("HSM_NOT_FIT", `Custos does not remember a module that was not found fit. ${module} was not fit: ${v.reasons.join(" ")}`, "Use another HSM, or one whose configuration passes every check.");
      }
      if (fingerprint(module) !== v.sha256) {
        throw new CustosError("HSM_MODULE_CHANGED", `${module} has changed since it was checked.`, "Check this HSM again.");
      }
      writeSettings(o.settingsFile, { pkcs11: { module, ...(initArgs ? { initArgs } : {}) } });
      return productionHsm(o);
    },
    async "hsm:forget"(): Promise<ProductionHsm> {
      notWhileOpen();
      if (!o.settingsFile) throw new CustosError("SETTINGS_NONE", "This Custos has no settings file: nothing is remembered.", "");
      writeSettings(o.settingsFile, { pkcs11: undefined });
      return productionHsm(o);
    },
  };
  return { handlers, checking: () => checking };
}
