/**
 * What one step's action works with: its view of the ceremony (StepContext),
 * the PIN login it asks the room for, the root key's signature of the seal,
 * and the error a failed step reports.
 */
import { CustosError, strictAssert } from "../errors";
import { explainFault } from "../files/fault";
import type { Hsm, HsmSession, PinRole } from "../hsm";
import { algorithmSpec } from "../hsm/algorithms";
import type { CeremonyScript } from "../script/schema";
import type { CeremonyMeta, Json, Signature, StoredEntry } from "../transcript/types";
import { rootKeyOnToken } from "./actions/util";
import type { Attestation } from "./attestation";
import type { Keyring } from "./keyring";
import type { CeremonySettings, EngineDeps, Participant, StepContext, StepView } from "./types";

/** The parts of a ceremony a step's context is made of. */
export interface CeremonyParts {
  meta: CeremonyMeta;
  script: CeremonyScript;
  settings: CeremonySettings;
  deps: EngineDeps;
  /** The recorded entries (the ceremony's own array: later appends show). */
  entries: StoredEntry[];
  participants: Participant[];
  keyring: Keyring;
  attestation: Attestation;
  hsm: () => Hsm;
  /** The module of the participants' own tokens. */
  personal: () => Hsm;
  /** Records a deviation Custos observed. */
  deviation: (kind: string, details: { [key: string]: Json }) => unknown;
}

export function stepContext(c: CeremonyParts, view: StepView, session: () => HsmSession): StepContext {
  const history = c.entries.map((e) => e.body);
  const ctx: StepContext = {
    ceremonyId: c.meta.id,
    mode: c.meta.mode,
    script: c.script,
    scriptSha256: c.meta.scriptSha256,
    settings: c.settings,
    view,
    driver: c.deps.driver,
    deps: { ...c.deps, openPersonalTokens: () => c.personal() },
    history,
    participants: c.participants,
    keyring: c.keyring,
    signaturesOf: (seq) => c.entries.find((e) => e.body.seq === seq)?.signatures ?? [],
    proveIdentity: async (p) => {
      await c.attestation.unlockKey(view, p);
    },
    hsm: () => c.hsm(),
    session,
    login: (s, role) => pinLogin(c, view, s, role),
    deviation: (kind, details) => void c.deviation(kind, details ?? {}),
    outputsOf: (action) => {
      for (let i = history.length - 1; i >= 0; i--) if (history[i]!.action === action) return history[i]!.outputs;
      return undefined;
    },
  };
  return ctx;
}

/** Logs in with a PIN asked of the room, asking again after a wrong one (each recorded as a deviation). */
async function pinLogin(c: Pick<CeremonyParts, "deps" | "hsm" | "deviation">, view: StepView, s: HsmSession, role: PinRole): Promise<void> {
  let error: CustosError | undefined;
  let wrong = 0;
  const token = c.hsm().tokenInfo(s.ref);
  for (;;) {
    const pin = await c.deps.driver.pin(view, { role, purpose: "login", token, error });
    try {
      s.login(role, pin);
      return;
    } catch (e) {
      if (e instanceof CustosError && e.code === "HSM_PIN_INCORRECT") {
        error = e;
        wrong++;
        // Counts only, never the PIN.
        c.deviation("wrong-pin", { pinRole: role, wrongAttempts: wrong, ...(typeof e.details?.triesLeftHere === "number" ? { attemptsLeftHere: e.details.triesLeftHere } : {}) });
        continue;
      }
      throw e;
    }
  }
}

/** The root key's own signature of an entry (the seal), made on the token after a user login. */
export async function rootSign(ctx: StepContext, message: Uint8Array): Promise<Signature> {
  const rk = rootKeyOnToken(ctx);
  strictAssert(rk, "the seal signs only with a root key on the token");
  const s = ctx.session();
  await ctx.login(s, "user");
  const sig = s.sign(rk.label, rk.algorithm, message);
  return { signer: "root-key", kind: "root-key", algorithm: algorithmSpec(rk.algorithm).signature, publicKey: rk.spki, signature: sig.toString("base64") };
}

/** Prefixes an error with the step it happened in; keeps code, hint and details. */
export function stepError(view: StepView, e: unknown): CustosError {
  const where = `Step ${view.index + 1} of ${view.total}, "${view.step.title}" (${view.step.id})`;
  if (e instanceof CustosError) {
    return new CustosError(e.code, `${where} failed: ${e.message}`, e.hint, { cause: e, details: { ...e.details, step: view.step.id } });
  }
  // A file-system or SQLite fault reads as what happened (the disk is full), not as a Node error string.
  const fault = explainFault(e);
  const msg = fault ? `${fault.what}${fault.path ? ` (${fault.path.replace(/\/\.([^/]+)\.\d+\.custos-tmp$/, "/$1")})` : ""}` : e instanceof Error ? e.message : String(e);
  return new CustosError("STEP_FAILED", `${where} failed: ${msg}`, "Nothing of this step was recorded; fix the cause and run the step again.", { cause: e, details: { step: view.step.id } });
}
