import fs from "node:fs";
import path from "node:path";
import { checkArtifactName } from "../artifact-name";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";
import type { TokenInfo } from "../hsm";
import type { Driver, Participant, ResolvedField, ShareBrief, ShareCardView, StepView } from "../engine/types";
import type { FileHandles } from "./file-handles";
import type { PrintPdf } from "./print";
import { shown, type Prompt, type PromptBroker } from "./prompts";
import { shareWordCount } from "../shares/encoding";

/** Inputs are certificate requests, certificates and revocation lists: small files. */
const MAX_INPUT_BYTES = 1024 * 1024;

const stepOf = (v: StepView): Prompt["step"] => ({ index: v.index, total: v.total, id: v.step.id, title: v.step.title });

/** What the desktop driver needs besides the prompt broker. */
export interface UiDriverDeps {
  /** Files chosen in the main process's dialogs; the screen only ever sees their handles. */
  files: FileHandles;
  print: PrintPdf;
  mode: "rehearsal" | "production";
  log?: (line: string) => void;
}

/**
 * The Driver for the desktop app: every question becomes a prompt on screen.
 * Public artifacts go to the ceremony's folder; share cards are never written
 * by the app (shown on screen only; printing is the operator's explicit act).
 */
export class UiDriver implements Driver {
  constructor(
    private readonly broker: PromptBroker,
    private readonly artifactsDir: () => string,
    private readonly sourceSuggestions: () => Array<{ label: string; transcript: string; backup?: string }>,
    private readonly deps: UiDriverDeps,
  ) {}

  async checklist(view: StepView, items: string[], fields: ResolvedField[]) {
    const a = await this.broker.ask(stepOf(view), { kind: "checklist", items, fields: fields.map((f) => ({ id: f.id, label: f.label, kind: f.kind, required: f.required, count: f.count })) });
    return a.values;
  }

  async enrol(view: StepView, roles: Parameters<Driver["enrol"]>[1], error?: CustosError, source?: { roles: string[]; participants: Participant[] }) {
    return this.broker.ask(stepOf(view), {
      kind: "enrol",
      roles: roles.map((r) => ({ id: r.id, title: r.title, min: r.min, max: r.max })),
      source: source ? { roles: source.roles, participants: source.participants.map((p) => ({ id: p.id, name: p.name })) } : undefined,
      error: shown(error),
    });
  }

  async passphrase(view: StepView, p: Participant, error?: CustosError) {
    return (await this.broker.ask(stepOf(view), {
          kind: "passphrase",
          participant: { id: p.id, name: p.name, roles: p.roles },
          ...(p.token ? { secret: "token-pin" as const, token: { serial: p.token.serial, keyLabel: p.token.label } } : { secret: "passphrase" as const }),
          error: shown(error),
        })).passphrase;
  }

  async chooseSigners(view: StepView, role: string, count: number, candidates: Participant[]) {
    return (await this.broker.ask(stepOf(view), { kind: "choose-signers", role, count, candidates: candidates.map((c) => ({ id: c.id, name: c.name })) })).ids;
  }

  async chooseToken(view: StepView, tokens: TokenInfo[], error?: CustosError) {
    return (await this.broker.ask(stepOf(view), { kind: "choose-token", tokens, error: shown(error) })).slotId;
  }

  async pin(view: StepView, req: { role: "user" | "so"; purpose: "login" | "set"; token: TokenInfo | null; error?: CustosError }) {
    const token = req.token ? { label: req.token.label, serial: req.token.serial, model: req.token.model } : null;
    return (await this.broker.ask(stepOf(view), { kind: "pin", role: req.role, purpose: req.purpose, token, error: shown(req.error) })).pin;
  }

  /** The card on screen right now (for print/save); dropped when the custodian confirms. */
  onScreen: ShareCardView | null = null;

  /** Cards handed out in the step that runs now (numbers and names only): leaving voids them. */
  handedOut: Array<{ index: number; custodianName: string; card: number }> = [];

  /** A step starts: no card of it is out yet. */
  newStep(): void {
    this.handedOut = [];
  }

  async handOutShare(view: StepView, c: ShareCardView) {
    this.onScreen = c;
    this.handedOut = [...this.handedOut.filter((h) => h.index !== c.index), { index: c.index, custodianName: c.custodian.name, card: c.issue ?? 1 }];
    try {
      await this.handOut(view, c);
    } finally {
      this.onScreen = null;
    }
  }

  private async handOut(view: StepView, c: ShareCardView) {
    await this.broker.ask(stepOf(view), {
      kind: "hand-out-share",
      card: {
        ceremonyId: c.ceremonyId,
        keyFingerprint: c.keyFingerprint,
        index: c.index,
        total: c.total,
        threshold: c.threshold,
        custodianName: c.custodian.name,
        words: c.words,
        wordCount: c.words.length,
        commitmentShort: c.commitmentShort,
        issue: c.issue ?? 1,
      },
      handOut: c.handOut ?? "choose",
      revealSeconds: c.revealSeconds ?? 60,
    });
  }

  async reenterShare(view: StepView, req: { custodian: Participant; index: number; total: number; error?: CustosError; justHandedOut?: boolean }) {
    return (
      await this.broker.ask(stepOf(view), {
        kind: "reenter-share",
        custodian: { id: req.custodian.id, name: req.custodian.name },
        index: req.index,
        total: req.total,
        justHandedOut: !!req.justHandedOut,
        wordCount: shareWordCount(),
        error: shown(req.error),
      })
    ).share;
  }

  async selectSource(view: StepView, error?: CustosError) {
    // Suggestions travel as handles too, so the answer can only name files Custos offered or the operator chose.
    const f = this.deps.files;
    const suggestions = this.sourceSuggestions().map((s) => ({
      label: s.label,
      transcript: f.grant(s.transcript, "source-transcript").handle,
      ...(s.backup ? { backup: f.grant(s.backup, "source-backup").handle } : {}),
    }));
    const a = await this.broker.ask(stepOf(view), { kind: "select-source", suggestions, error: shown(error) });
    return { transcript: f.resolve(a.transcript, ["source-transcript"]), ...(a.backup ? { backup: f.resolve(a.backup, ["source-backup"]) } : {}) };
  }

  async briefing(view: StepView, brief: ShareBrief) {
    await this.broker.ask(stepOf(view), { kind: "briefing", brief });
  }

  async collectShare(view: StepView, req: { custodian: Participant; brief: ShareBrief; collected: number; needed: number; error?: CustosError }) {
    return (
      await this.broker.ask(stepOf(view), {
        kind: "collect-share",
        custodian: { id: req.custodian.id, name: req.custodian.name },
        collected: req.collected,
        needed: req.needed,
        wordCount: shareWordCount(),
        brief: { sourceCeremonyId: req.brief.sourceCeremonyId, keyFingerprint: req.brief.keyFingerprint, threshold: req.brief.threshold },
        error: shown(req.error),
      })
    ).share;
  }

  /**
   * The in-room print of the report for wet signatures. In production a
   * printing failure stops the step (nothing is recorded; fix the printer and
   * run it again); a rehearsal goes on without paper and says so in the log.
   */
  async printDocument(title: string, pdf: Buffer) {
    try {
      await this.deps.print(pdf, title);
    } catch (e) {
      if (this.deps.mode === "production") throw e;
      this.deps.log?.(`rehearsal: ${title} not printed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async readInput(view: StepView, req: { name: string; kind: string; description: string; error?: CustosError }) {
    const a = await this.broker.ask(stepOf(view), { kind: "read-input", name: req.name, inputKind: req.kind, description: req.description, error: shown(req.error) });
    const file = this.deps.files.resolve(a.file, ["input"]);
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_INPUT_BYTES) throw new CustosError("INPUT_FORM", `${path.basename(file)} is not a regular file of at most ${MAX_INPUT_BYTES / 1024} KiB.`, "Choose the file the requester sent.");
    return { fileName: path.basename(file), bytes: fs.readFileSync(file) };
  }

  async compareInputHash(view: StepView, req: { name: string; fileName: string; sha256: string; words: string[]; summary: string }) {
    return (await this.broker.ask(stepOf(view), { kind: "compare-input-hash", ...req })).match;
  }

  async saveArtifact(name: string, data: Buffer) {
    checkArtifactName(name);
    const dir = this.artifactsDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, name), data);
  }
}
