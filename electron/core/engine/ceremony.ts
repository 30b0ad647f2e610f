import { CustosError } from "../errors";
import type { Hsm, HsmSession } from "../hsm";
import { loadScriptText, type LoadedScript } from "../script/load";
import type { ActionName } from "../script/params";
import type { CeremonyScript } from "../script/schema";
import { attestationMessage, bodyHash as hashBody } from "../transcript/chain";
import type { CeremonyMeta, EntryBody, Json, Signature, StoredEntry } from "../transcript/types";
import { ABORT_ACTION, DEVIATION_ACTION, EXCEPTION_ACTION, GENESIS_HASH, NON_STEP_ACTIONS, OPEN_ACTION, TRANSCRIPT_FORMAT_VERSION } from "../transcript/types";
import { recordedToken } from "./actions/util";
import { Attestation } from "./attestation";
import { openingOf, resolveSettings, type StartOptions } from "./ceremony-start";
import { Keyring } from "./keyring";
import type { AttestationKey } from "../transcript/identity";
import { unlockTokenKey } from "./token-keys";
import { runAction } from "./registry";
import { rootSign, stepContext, stepError } from "./step-context";
import type { CeremonySettings, EngineDeps, Participant, StepContext, StepView } from "./types";

export { CUSTOS_VERSION, newCeremonyId, resolveSettings, type StartOptions } from "./ceremony-start";

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
  private readonly attestation: Attestation;

  private constructor(
    private readonly deps: EngineDeps,
    readonly meta: CeremonyMeta,
    readonly script: CeremonyScript,
    readonly settings: CeremonySettings,
  ) {
    this.keyring = new Keyring(deps.attestWindowMs, () => deps.now().getTime(), (p, pin) => unlockTokenKey(this.personal(), p.token!, p.publicKey, pin));
    this.entries = deps.store.entries(meta.id);
    this.participants.push(...participantsFrom(this.entries));
    this.attestation = new Attestation({
      script,
      settings,
      participants: this.participants,
      entries: () => this.entries,
      keyring: this.keyring,
      driver: deps.driver,
      attestWindowMs: deps.attestWindowMs,
      personal: () => this.personal(),
    });
  }

  /**
   * Starts a new ceremony from a linted script: the header and the opening
   * entry (docs/transcript-format.md §6.1) are written in one transaction.
   * Nothing touches the HSM yet.
   */
  static start(deps: EngineDeps, loaded: LoadedScript, opts: StartOptions): Ceremony {
    const settings = resolveSettings(loaded.script, opts);
    const { meta, opening } = openingOf(loaded, opts, settings, deps.now());
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
      const signers = await this.attestation.requiredSigners(view, result.extraSigners ?? []);
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
        for (const id of signers) signatures.push(await this.attestation.attest(view, id, message));
        if (result.rootSigns) signatures.push(await rootSign(ctx, message));
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
      const signers = await this.attestation.signersFor(view, this.script.exceptions.attest, [w.id]);
      return this.appendSigned(view, EXCEPTION_ACTION, { text }, {}, signers);
    }
    // Signed by the witness with the passphrase typed for it, whatever keys are unlocked.
    const keys = this.attestation.freshKeys([{ participantId: w.id, passphrase }]);
    try {
      const signers = this.attestation.signersFromGiven(this.script.exceptions.attest, [w.id], "An exception");
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
      const keys = this.attestation.freshKeys(given);
      try {
        const signers = this.attestation.signersFromGiven(this.script.abort.attest, [...keys.keys()], "An abort");
        stored = await this.appendSigned(view, ABORT_ACTION, { reason }, {}, signers, keys);
      } finally {
        for (const k of keys.values()) k.dispose();
      }
    } else {
      const signers = this.participants.length ? await this.attestation.signersFor(view, this.script.abort.attest, chosen) : [];
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
        sigs.push(k ? { signer: id, kind: "participant", algorithm: p.token ? p.token.algorithm : "Ed25519", publicKey: p.publicKey, signature: k.sign(message) } : await this.attestation.attest(view, id, message));
      }
      // Something was appended while people signed: sign the entry again on the new head.
      if (body.prevHash !== this.head()) continue;
      const stored = this.deps.store.appendEntry(body, sigs);
      this.entries.push(stored);
      return stored;
    }
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

  /** What the step's action sees of this ceremony. */
  private context(view: StepView, session: () => HsmSession): StepContext {
    return stepContext(
      {
        meta: this.meta,
        script: this.script,
        settings: this.settings,
        deps: this.deps,
        entries: this.entries,
        participants: this.participants,
        keyring: this.keyring,
        attestation: this.attestation,
        hsm: () => this.hsm(),
        personal: () => this.personal(),
        deviation: (kind, details) => this.recordDeviation(kind, details),
      },
      view,
      session,
    );
  }
}

function participantsFrom(entries: StoredEntry[]): Participant[] {
  const e = entries.find((x) => x.body.action === "enrol-participants");
  return e ? ((e.body.outputs.participants ?? []) as unknown as Participant[]) : [];
}
