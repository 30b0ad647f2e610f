import crypto from "node:crypto";
import { CustosError, strictAssert } from "../errors";
import { explainFault } from "../files/fault";
import type { Hsm, HsmSession, PinRole } from "../hsm";
import { algorithmSpec, isRootKeyAlgorithm } from "../hsm/algorithms";
import { loadScriptText, type LoadedScript } from "../script/load";
import type { ActionName } from "../script/params";
import type { CeremonyScript } from "../script/schema";
import { attestationMessage, bodyHash as hashBody } from "../transcript/chain";
import type { CeremonyMeta, CeremonyMode, EntryBody, Json, Signature, StoredEntry } from "../transcript/types";
import { ABORT_ACTION, DEVIATION_ACTION, EXCEPTION_ACTION, GENESIS_HASH, NON_STEP_ACTIONS, OPEN_ACTION, TRANSCRIPT_FORMAT_VERSION } from "../transcript/types";
import { recipientsRole, recordedToken, rootKeyOnToken } from "./actions/util";
import { Keyring } from "./keyring";
import { deriveAttestationKey, type AttestationKey } from "../transcript/identity";
import { unlockTokenKey } from "./token-keys";
import { runAction } from "./registry";
import type { CeremonySettings, EngineDeps, Participant, StepContext, StepView } from "./types";

export const CUSTOS_VERSION = "0.1.0";

/** Options fixed when a ceremony starts; recorded in its first entry. */
export interface StartOptions {
  mode: CeremonyMode;
  ceremonyId?: string;
  algorithm?: string;
  threshold?: number;
  shares?: number;
}

/** A new ceremony id: script, date, and random suffix; readable aloud. */
export function newCeremonyId(scriptId: string, now: Date): string {
  return `${scriptId}-${now.toISOString().slice(0, 10)}-${crypto.randomBytes(4).toString("hex")}`;
}

/** The settings a start would record, or the refusal: callers check them before they write anything. */
export function resolveSettings(script: CeremonyScript, o: Pick<StartOptions, "algorithm" | "threshold" | "shares">): CeremonySettings {
  const algorithm = o.algorithm ?? script.policy.defaultAlgorithm;
  if (!isRootKeyAlgorithm(algorithm) || !script.policy.algorithms.includes(algorithm)) {
    throw new CustosError("POLICY_ALGORITHM", `${algorithm} is not allowed by this script.`, `Choose one of: ${script.policy.algorithms.join(", ")}.`);
  }
  const shares = o.shares ?? script.quorum.shares;
  const threshold = o.threshold ?? script.quorum.threshold;
  const custodian = script.roles.find((r) => r.id === recipientsRole(script));
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 2 || threshold > shares || shares > 255) {
    throw new CustosError("QUORUM_INVALID", `A threshold of ${threshold} of ${shares} shares is not possible.`, "Use 2 <= threshold <= shares <= 255.");
  }
  if (custodian && (shares < custodian.min || (custodian.max !== undefined && shares > custodian.max))) {
    throw new CustosError("QUORUM_INVALID", `${shares} custodians is outside the script's ${custodian.min}..${custodian.max ?? "∞"}.`, "Choose a custodian count the script allows.");
  }
  return { algorithm, threshold, shares };
}

/**
 * The ceremony state machine. State lives in the transcript: the next step is
 * the first one without an entry, and every action reads what earlier steps
 * recorded, so a restarted process resumes exactly where the last one stopped.
 */
export class Ceremony {
  private hsmInstance: Hsm | undefined;
  private readonly keyring: Keyring;
  private readonly participants: Participant[] = [];
  private entries: StoredEntry[];

  private constructor(
    private readonly deps: EngineDeps,
    readonly meta: CeremonyMeta,
    readonly script: CeremonyScript,
    readonly settings: CeremonySettings,
  ) {
    this.keyring = new Keyring(deps.attestWindowMs, () => deps.now().getTime(), (p, pin) => unlockTokenKey(this.personal(), p.token!, p.publicKey, pin));
    this.entries = deps.store.entries(meta.id);
    this.participants.push(...participantsFrom(this.entries));
  }

  /**
   * Starts a new ceremony from a linted script: the header and the opening
   * entry (docs/transcript-format.md §6.1) are written in one transaction.
   * Nothing touches the HSM yet.
   */
  static start(deps: EngineDeps, loaded: LoadedScript, opts: StartOptions): Ceremony {
    const settings = resolveSettings(loaded.script, opts);
    const now = deps.now();
    const id = opts.ceremonyId ?? newCeremonyId(loaded.script.id, now);
    const meta: CeremonyMeta = {
      id,
      scriptId: loaded.script.id,
      scriptVersion: loaded.script.version,
      scriptTitle: loaded.script.title,
      scriptSha256: loaded.sha256,
      scriptText: loaded.text,
      mode: opts.mode,
      status: "open",
      createdAt: now.toISOString(),
    };
    const opening: EntryBody = {
      v: TRANSCRIPT_FORMAT_VERSION,
      ceremonyId: id,
      seq: 1,
      stepId: loaded.script.steps[0]!.id,
      action: OPEN_ACTION,
      inputs: {},
      outputs: {
        scriptId: meta.scriptId,
        scriptVersion: meta.scriptVersion,
        scriptSha256: meta.scriptSha256,
        mode: meta.mode,
        settings: { ...settings },
        software: { name: "custos", version: CUSTOS_VERSION, node: process.versions.node },
      },
      requiredSigners: [],
      timestamp: meta.createdAt,
      prevHash: GENESIS_HASH,
    };
    deps.store.createCeremony(meta, opening);
    return new Ceremony(deps, meta, loaded.script, settings);
  }

  /** Resumes a ceremony from its transcript, with the script text and settings stored there (never re-read from disk). */
  static resume(deps: EngineDeps, ceremonyId: string): Ceremony {
    const meta = deps.store.getCeremony(ceremonyId);
    if (!meta) throw new CustosError("CEREMONY_NOT_FOUND", `No ceremony ${ceremonyId} in this transcript.`, "Check the ceremony id.");
    if (meta.status !== "open") throw new CustosError("CEREMONY_CLOSED", `Ceremony ${ceremonyId} is ${meta.status}; it cannot be resumed.`, "Start a new ceremony.");
    const loaded = loadScriptText(meta.scriptText, `${meta.scriptId} (stored)`);
    if (loaded.sha256 !== meta.scriptSha256) {
      throw new CustosError("TRANSCRIPT_TAMPERED", "The stored script does not match its recorded hash.", "Run custos verify on the transcript; do not continue.");
    }
    const first = deps.store.entries(ceremonyId)[0];
    if (!first || first.body.action !== OPEN_ACTION) {
      throw new CustosError("TRANSCRIPT_TAMPERED", `Ceremony ${ceremonyId} has no opening entry.`, "Run custos verify on the transcript; do not continue.");
    }
    const settings = resolveSettings(loaded.script, (first.body.outputs.settings ?? {}) as Partial<CeremonySettings>);
    return new Ceremony(deps, meta, loaded.script, settings);
  }

  get id(): string {
    return this.meta.id;
  }

  /** Script steps already recorded (opening, exceptions, deviations and an abort excluded). */
  get completedSteps(): number {
    return this.entries.filter((e) => !NON_STEP_ACTIONS.includes(e.body.action)).length;
  }

  /** Aborted: closed by a signed abort entry. */
  get aborted(): boolean {
    return this.entries.some((e) => e.body.action === ABORT_ACTION);
  }

  get done(): boolean {
    return this.aborted || this.completedSteps >= this.script.steps.length;
  }

  /** The step to run next, or null when the ceremony is complete. */
  currentStep(): StepView | null {
    const i = this.completedSteps;
    const step = this.script.steps[i];
    return step ? { index: i, total: this.script.steps.length, step } : null;
  }

  /** Recorded entries so far. */
  transcript(): StoredEntry[] {
    return [...this.entries];
  }

  /** Head hash of the transcript (what the on-screen strip shows). */
  head(): string {
    return this.entries[this.entries.length - 1]?.entryHash ?? GENESIS_HASH;
  }

  /** Whose attestation key is unlocked, and until when (for the on-screen countdown). */
  unlockedKeys(): Array<{ participantId: string; until: number }> {
    return this.keyring.unlocked();
  }

  /** Enrolled participants (empty before enrolment). */
  enrolled(): Participant[] {
    return [...this.participants];
  }

  /** Runs the current step to completion and records it in one transaction. */
  async runNextStep(): Promise<StoredEntry> {
    // PKCS#11 and SQLite calls are synchronous: between steps, let the host's
    // event loop answer its messages (an exception or abort asked for meanwhile).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const view = this.currentStep();
    if (!view) throw new CustosError("CEREMONY_DONE", "The ceremony is complete.", "Nothing is left to run.");
    let session: HsmSession | undefined;
    const ctx = this.context(view, () => {
      if (!session) session = this.hsm().openSession(recordedToken(ctx));
      return session;
    });
    try {
      const result = await runAction(view.step.action as ActionName, ctx, view.step.params);
      const signers = await this.requiredSigners(view, result.extraSigners ?? []);
      const outputs = result.outputs;
      const body: EntryBody = {
        v: TRANSCRIPT_FORMAT_VERSION,
        ceremonyId: this.meta.id,
        seq: this.entries.length + 1,
        stepId: view.step.id,
        action: view.step.action,
        inputs: result.inputs,
        outputs,
        requiredSigners: signers,
        timestamp: this.stamp(),
        prevHash: this.head(),
      };
      // Entries may be appended while people attest (an exception, a wrong PIN): the entry is then
      // built again on the new head and signed again (keys are still unlocked), so the chain never breaks.
      let signatures: Signature[] = [];
      for (let round = 0; ; round++) {
        Object.assign(body, { seq: this.entries.length + 1, prevHash: this.head(), timestamp: this.stamp() });
        const message = attestationMessage(hashBody(body));
        signatures = [];
        for (const id of signers) signatures.push(await this.attest(view, id, message));
        if (result.rootSigns) signatures.push(await this.rootSign(ctx, message));
        if (this.aborted) throw new CustosError("CEREMONY_ABORTED", "The ceremony was aborted while this step ran.", "Nothing of this step was recorded.");
        if (body.prevHash === this.head() || round >= 5) break;
      }
      const stored = this.deps.store.appendEntry(body, signatures);
      this.entries.push(stored);
      if (this.done) this.keyring.clear();
      return stored;
    } catch (e) {
      throw stepError(view, e);
    } finally {
      if (session) {
        try {
          session.logout();
        } catch {
          // A removed token cannot be logged out of; closing below is enough.
        }
        session.close();
      }
    }
  }

  /**
   * Records an exception (§6.6): the witness's own words, signed by the
   * participants the script's `exceptions.attest` names, each with their own
   * passphrase. It does not advance the script.
   */
  async recordException(text: string, witnessId: string, passphrase?: string): Promise<StoredEntry> {
    this.assertOpen("record an exception");
    const w = this.participants.find((p) => p.id === witnessId);
    const first = this.script.exceptions.attest[0]!;
    if (!w || !w.roles.includes(first.role)) {
      const role = this.script.roles.find((r) => r.id === first.role);
      throw new CustosError("EXCEPTION_WITNESS", `Exceptions are written by an enrolled ${role?.title ?? first.role}.`, `Choose the ${role?.title ?? first.role} who writes the exception.`);
    }
    if (!text.trim()) throw new CustosError("EXCEPTION_EMPTY", "The exception has no text.", "Write what happened, in a sentence or two.");
    const view = this.currentStep()!;
    if (passphrase === undefined) {
      const signers = await this.signersFor(view, this.script.exceptions.attest, [w.id]);
      return this.appendSigned(view, EXCEPTION_ACTION, { text }, {}, signers);
    }
    // Signed by the witness with the passphrase typed for it, whatever keys are unlocked.
    const keys = this.freshKeys([{ participantId: w.id, passphrase }]);
    try {
      const signers = this.signersFromGiven(this.script.exceptions.attest, [w.id], "An exception");
      return await this.appendSigned(view, EXCEPTION_ACTION, { text }, {}, signers, keys);
    } finally {
      for (const k of keys.values()) k.dispose();
    }
  }

  /**
   * Records a deviation (§6.7) Custos observed by itself: a wrong PIN, a failed
   * attempt, a void card, leaving and resuming. Unsigned: the signatures of the
   * entries after it cover it. Never holds a secret: callers pass counts and names.
   */
  recordDeviation(kind: string, details: { [key: string]: Json } = {}): StoredEntry | undefined {
    if (this.done) return undefined;
    const view = this.currentStep()!;
    return this.appendUnsigned(view, DEVIATION_ACTION, { kind, ...details });
  }

  /**
   * Closes the ceremony with a signed abort (§6.8) and its reason: after the
   * enrolment the script's `abort.attest` roles sign; before it, nobody can.
   */
  async abort(reason: string, chosen: string[] = [], given?: Array<{ participantId: string; passphrase: string }>): Promise<StoredEntry> {
    this.assertOpen("abort it");
    if (!reason.trim()) throw new CustosError("ABORT_REASON", "An abort needs its reason.", "Say in a sentence why the ceremony stops here.");
    const view = this.currentStep()!;
    let stored: StoredEntry;
    if (given && this.participants.length) {
      const keys = this.freshKeys(given);
      try {
        const signers = this.signersFromGiven(this.script.abort.attest, [...keys.keys()], "An abort");
        stored = await this.appendSigned(view, ABORT_ACTION, { reason }, {}, signers, keys);
      } finally {
        for (const k of keys.values()) k.dispose();
      }
    } else {
      const signers = this.participants.length ? await this.signersFor(view, this.script.abort.attest, chosen) : [];
      stored = await this.appendSigned(view, ABORT_ACTION, { reason }, {}, signers);
    }
    this.keyring.clear();
    return stored;
  }

  private assertOpen(what: string): void {
    if (this.done) {
      throw new CustosError("CEREMONY_CLOSED", `The ceremony is ${this.aborted ? "aborted" : "sealed"}; you cannot ${what} now.`, "Nothing can be added to a closed transcript.");
    }
  }

  /** Participant ids meeting attest requirements, starting with those already chosen. */
  private async signersFor(view: StepView, reqs: CeremonyScript["exceptions"]["attest"], chosen: string[]): Promise<string[]> {
    const fake: StepView = { ...view, step: { ...view.step, attest: reqs } };
    const ids = await this.requiredSigners(fake, []);
    return [...new Set([...chosen.filter((id) => this.participants.some((p) => p.id === id)), ...ids])];
  }

  /** The clock's time, never before the last entry's (§7.2.5: times never go backwards, whatever the laptop clock does). */
  private stamp(): string {
    const now = this.deps.now().toISOString();
    const last = this.entries[this.entries.length - 1]?.body.timestamp;
    return last !== undefined && now < last ? last : now;
  }

  private bodyFor(view: StepView, action: string, inputs: { [key: string]: Json }, outputs: { [key: string]: Json }, signers: string[]): EntryBody {
    return {
      v: TRANSCRIPT_FORMAT_VERSION,
      ceremonyId: this.meta.id,
      seq: this.entries.length + 1,
      stepId: view.step.id,
      action,
      inputs,
      outputs,
      requiredSigners: signers,
      timestamp: this.stamp(),
      prevHash: this.head(),
    };
  }

  private appendUnsigned(view: StepView, action: string, inputs: { [key: string]: Json }): StoredEntry {
    const stored = this.deps.store.appendEntry(this.bodyFor(view, action, inputs, {}, []), []);
    this.entries.push(stored);
    return stored;
  }

  private async appendSigned(
    view: StepView,
    action: string,
    inputs: { [key: string]: Json },
    outputs: { [key: string]: Json },
    signers: string[],
    fresh: Map<string, AttestationKey> = new Map(),
  ): Promise<StoredEntry> {
    for (;;) {
      const body = this.bodyFor(view, action, inputs, outputs, signers);
      const message = attestationMessage(hashBody(body));
      const sigs: Signature[] = [];
      for (const id of signers) {
        const k = fresh.get(id);
        const p = this.participants.find((x) => x.id === id)!;
        sigs.push(k ? { signer: id, kind: "participant", algorithm: p.token ? p.token.algorithm : "Ed25519", publicKey: p.publicKey, signature: k.sign(message) } : await this.attest(view, id, message));
      }
      // Something was appended while people signed: sign the entry again on the new head.
      if (body.prevHash !== this.head()) continue;
      const stored = this.deps.store.appendEntry(body, sigs);
      this.entries.push(stored);
      return stored;
    }
  }

  /**
   * Keys opened right now from passphrases typed for this entry (never the unlocked window's):
   * an exception or an abort is signed by the people themselves, not by whoever holds the keyboard.
   */
  private freshKeys(given: Array<{ participantId: string; passphrase: string }>): Map<string, AttestationKey> {
    const out = new Map<string, AttestationKey>();
    for (const g of given) {
      const p = this.participants.find((x) => x.id === g.participantId);
      if (!p) throw new CustosError("ATTEST_UNKNOWN", "That person is not enrolled in this ceremony.", "Choose an enrolled participant.");
      let key: AttestationKey | undefined;
      try {
        key = p.token ? unlockTokenKey(this.personal(), p.token, p.publicKey, g.passphrase) : p.kdf ? deriveAttestationKey(g.passphrase, p.kdf) : undefined;
      } catch (e) {
        if (!(e instanceof CustosError)) throw e;
        key = undefined;
      }
      if (!key || key.publicKey !== p.publicKey) {
        key?.dispose();
        for (const k of out.values()) k.dispose();
        throw new CustosError("ATTEST_WRONG_PASSPHRASE", `That is not ${p.name}'s enrolled passphrase.`, "Nothing was recorded; type it again (it is case-sensitive).");
      }
      out.set(p.id, key);
    }
    return out;
  }

  /** Signers for an exception or abort: the script's roles, each met by one of the people who typed their passphrase. */
  private signersFromGiven(reqs: CeremonyScript["exceptions"]["attest"], given: string[], what: string): string[] {
    const out: string[] = [];
    for (const req of reqs) {
      const role = this.script.roles.find((r) => r.id === req.role);
      const holders = this.participants.filter((p) => p.roles.includes(req.role));
      if (holders.length === 0 && role?.min === 0) continue;
      const count = req.who === "all" ? holders.length : req.who === "quorum" ? this.quorumThreshold() : 1;
      const have = given.filter((id) => holders.some((h) => h.id === id));
      if (have.length < count) {
        throw new CustosError("ATTEST_MISSING", `${what} must be signed by ${count === 1 ? "a" : count} ${role?.title ?? req.role}${count === 1 ? "" : "s"}, with their own passphrase.`, `Choose the ${role?.title ?? req.role} and have them type their passphrase.`);
      }
      for (const id of have) if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  /** Runs every remaining step. */
  async runToEnd(onStep?: (e: StoredEntry) => void): Promise<void> {
    while (!this.done) {
      // Not `onStep?.(await …)`: optional chaining would skip the await itself.
      const entry = await this.runNextStep();
      onStep?.(entry);
    }
  }

  /** Drops unlocked keys and unloads the PKCS#11 module. */
  close(): void {
    this.keyring.clear();
    this.personalInstance?.close();
    this.personalInstance = undefined;
    this.hsmInstance?.close();
    this.hsmInstance = undefined;
  }

  private personalInstance: Hsm | undefined;
  /** The module of the participants' own tokens (§2.4a): a configured one, or the HSM's. */
  private personal(): Hsm {
    if (!this.deps.openPersonalTokens) return this.hsm();
    this.personalInstance ??= this.deps.openPersonalTokens();
    return this.personalInstance;
  }

  private hsm(): Hsm {
    this.hsmInstance ??= this.deps.openHsm();
    return this.hsmInstance;
  }

  private context(view: StepView, session: () => HsmSession): StepContext {
    const history = this.entries.map((e) => e.body);
    const ctx: StepContext = {
      ceremonyId: this.meta.id,
      mode: this.meta.mode,
      script: this.script,
      scriptSha256: this.meta.scriptSha256,
      settings: this.settings,
      view,
      driver: this.deps.driver,
      deps: { ...this.deps, openPersonalTokens: () => this.personal() },
      history,
      participants: this.participants,
      keyring: this.keyring,
      signaturesOf: (seq) => this.entries.find((e) => e.body.seq === seq)?.signatures ?? [],
      proveIdentity: async (p) => {
        await this.unlockKey(view, p);
      },
      hsm: () => this.hsm(),
      session,
      login: (s, role) => this.login(view, s, role),
      deviation: (kind, details) => void this.recordDeviation(kind, details ?? {}),
      outputsOf: (action) => {
        for (let i = history.length - 1; i >= 0; i--) if (history[i]!.action === action) return history[i]!.outputs;
        return undefined;
      },
    };
    return ctx;
  }

  private async login(view: StepView, s: HsmSession, role: PinRole): Promise<void> {
    let error: CustosError | undefined;
    let wrong = 0;
    const token = this.hsm().tokenInfo(s.ref);
    for (;;) {
      const pin = await this.deps.driver.pin(view, { role, purpose: "login", token, error });
      try {
        s.login(role, pin);
        return;
      } catch (e) {
        if (e instanceof CustosError && e.code === "HSM_PIN_INCORRECT") {
          error = e;
          wrong++;
          // Counts only, never the PIN.
          this.recordDeviation("wrong-pin", { pinRole: role, wrongAttempts: wrong, ...(typeof e.details?.triesLeftHere === "number" ? { attemptsLeftHere: e.details.triesLeftHere } : {}) });
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * docs/transcript-format.md §7.4: a "quorum" is the source backup's threshold
   * once an earlier ceremony is loaded (recovery, re-split, destruction), else
   * this ceremony's own threshold.
   */
  private quorumThreshold(): number {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const b = this.entries[i]!.body;
      if (b.action !== "load-source-ceremony") continue;
      const t = (b.outputs.sourceBackup as { threshold?: unknown } | undefined)?.threshold;
      if (typeof t === "number") return t;
    }
    return this.settings.threshold;
  }

  /** Participant ids that must sign this step: the script's attest list plus the action's own. */
  private async requiredSigners(view: StepView, extra: string[]): Promise<string[]> {
    const out: string[] = [...extra];
    for (const req of view.step.attest) {
      const role = this.script.roles.find((r) => r.id === req.role);
      strictAssert(role, `role ${req.role} exists (lint checks it)`);
      const holders = this.participants.filter((p) => p.roles.includes(req.role));
      if (holders.length === 0) {
        if (role.min === 0) continue; // an optional role nobody holds today
        throw new CustosError("ATTEST_NO_HOLDER", `Nobody enrolled holds the role ${role.title}.`, "Record an exception; the script needs this role.");
      }
      let ids: string[];
      if (req.who === "all") ids = holders.map((p) => p.id);
      else {
        const count = req.who === "quorum" ? this.quorumThreshold() : 1;
        if (holders.length < count) throw new CustosError("ATTEST_QUORUM", `${count} ${role.title}(s) must attest but only ${holders.length} are enrolled.`, "The quorum cannot be reached.");
        ids = holders.length === count ? holders.map((p) => p.id) : await this.deps.driver.chooseSigners(view, req.role, count, holders);
        const unique = new Set(ids);
        if (unique.size !== count || ids.some((id) => !holders.some((h) => h.id === id))) {
          throw new CustosError("ATTEST_QUORUM", `${count} distinct ${role.title}(s) must attest this step.`, "Choose distinct participants holding the role.");
        }
      }
      for (const id of ids) if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  private async attest(view: StepView, participantId: string, message: Uint8Array): Promise<Signature> {
    const p = this.participants.find((x) => x.id === participantId);
    strictAssert(p, `participant ${participantId} is enrolled`);
    const key = await this.unlockKey(view, p);
    const sig: Signature = { signer: p.id, kind: "participant", algorithm: p.token ? p.token.algorithm : "Ed25519", publicKey: p.publicKey, signature: key.sign(message) };
    if (this.deps.attestWindowMs <= 0) key.dispose();
    return sig;
  }

  /** The participant's unlocked key, asking for the passphrase (three tries) when the window has closed. */
  private async unlockKey(view: StepView, p: Participant) {
    let key = this.keyring.get(p);
    let error: CustosError | undefined;
    for (let attempt = 0; !key && attempt < 3; attempt++) {
      const pass = await this.deps.driver.passphrase(view, p, error);
      key = this.keyring.unlock(p, pass);
      if (!key) error = new CustosError("ATTEST_WRONG_PASSPHRASE", `That is not ${p.name}'s enrolled passphrase.`, "Type it again; the passphrase is case-sensitive.");
    }
    if (!key) throw error!;
    return key;
  }

  private async rootSign(ctx: StepContext, message: Uint8Array): Promise<Signature> {
    const rk = rootKeyOnToken(ctx);
    strictAssert(rk, "the seal signs only with a root key on the token");
    const s = ctx.session();
    await ctx.login(s, "user");
    const sig = s.sign(rk.label, rk.algorithm, message);
    return { signer: "root-key", kind: "root-key", algorithm: algorithmSpec(rk.algorithm).signature, publicKey: rk.spki, signature: sig.toString("base64") };
  }
}

function participantsFrom(entries: StoredEntry[]): Participant[] {
  const e = entries.find((x) => x.body.action === "enrol-participants");
  return e ? ((e.body.outputs.participants ?? []) as unknown as Participant[]) : [];
}

/** Prefixes an error with the step it happened in; keeps code, hint and details. */
function stepError(view: StepView, e: unknown): CustosError {
  const where = `Step ${view.index + 1} of ${view.total}, "${view.step.title}" (${view.step.id})`;
  if (e instanceof CustosError) {
    return new CustosError(e.code, `${where} failed: ${e.message}`, e.hint, { cause: e, details: { ...e.details, step: view.step.id } });
  }
  // A file-system or SQLite fault reads as what happened (the disk is full), not as a Node error string.
  const fault = explainFault(e);
  const msg = fault ? `${fault.what}${fault.path ? ` (${fault.path.replace(/\/\.([^/]+)\.\d+\.custos-tmp$/, "/$1")})` : ""}` : e instanceof Error ? e.message : String(e);
  return new CustosError("STEP_FAILED", `${where} failed: ${msg}`, "Nothing of this step was recorded; fix the cause and run the step again.", { cause: e, details: { step: view.step.id } });
}

