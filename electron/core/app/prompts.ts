import { z } from "zod";
import { fileHandle } from "../../shared/ipc";
import { CustosError } from "../errors";

/** Errors as the screen shows them (never secrets; suggestions only on screen). */
export interface ShownError {
  code: string;
  message: string;
  hint: string;
  details: Record<string, string | number | boolean>;
}

export const shown = (e: CustosError | undefined): ShownError | undefined =>
  e ? { code: e.code, message: e.message, hint: e.hint, details: { ...e.details } } : undefined;

/** Every question the engine can ask the room, as the renderer receives it. */
export type PromptBody =
  | { kind: "checklist"; items: string[]; fields: Array<{ id: string; label: string; kind: string; required: boolean; count?: number }> }
  | { kind: "enrol"; roles: Array<{ id: string; title: string; min: number; max?: number }>; source?: { roles: string[]; participants: Array<{ id: string; name: string }> }; error?: ShownError }
  | {
      kind: "passphrase";
      participant: { id: string; name: string; roles: string[] };
      /** What is typed: the person's passphrase, or the PIN of their own token (§2.4a; the answer's field is `passphrase` either way). */
      secret: "passphrase" | "token-pin";
      /** For a token PIN: which token (serial and key label, as recorded at the enrolment; not secret). */
      token?: { serial: string; keyLabel: string };
      error?: ShownError;
    }
  | { kind: "choose-signers"; role: string; count: number; candidates: Array<{ id: string; name: string }> }
  | { kind: "choose-token"; tokens: Array<{ slotId: string; label: string; manufacturer: string; model: string; serial: string; firmware: string; initialized: boolean }>; error?: ShownError }
  | { kind: "pin"; role: "user" | "so"; purpose: "login" | "set"; token: { label: string; serial: string; model: string } | null; error?: ShownError }
  | {
      kind: "hand-out-share";
      card: { ceremonyId: string; keyFingerprint: string; index: number; total: number; threshold: number; custodianName: string; words: string[]; wordCount: number; commitmentShort: string; issue: number };
      /** How the card leaves the room: fixed by the script, or "choose" at the step. */
      handOut: "choose" | "print" | "save" | "reveal";
      revealSeconds: number;
    }
  | { kind: "reenter-share"; custodian: { id: string; name: string }; index: number; total: number; justHandedOut: boolean; wordCount: number; error?: ShownError }
  | { kind: "select-source"; suggestions: Array<{ label: string; transcript: string; backup?: string }>; error?: ShownError }
  | { kind: "briefing"; brief: { sourceCeremonyId: string; keyFingerprint: string; algorithm: string; threshold: number; total: number; expected: Array<{ name: string; participantId: string; shareIndex: number }> } }
  | { kind: "collect-share"; custodian: { id: string; name: string }; collected: number; needed: number; wordCount: number; brief: { sourceCeremonyId: string; keyFingerprint: string; threshold: number }; error?: ShownError }
  | { kind: "read-input"; name: string; inputKind: string; description: string; error?: ShownError }
  | { kind: "compare-input-hash"; name: string; fileName: string; sha256: string; words: string[]; summary: string };

export type Prompt = PromptBody & { id: string; step: { index: number; total: number; id: string; title: string } };

const secret = z.string().min(1).max(4096);

/** What each prompt kind accepts as an answer, checked in the core before it reaches the engine. */
export const ANSWERS = {
  checklist: z.object({ confirmed: z.literal(true), values: z.record(z.string(), z.union([z.string().max(500), z.array(z.string().max(500)).max(255)])) }).strict(),
  enrol: z
    .array(
      z
        .object({
          name: z.string().min(1).max(200),
          roles: z.array(z.string().max(64)).min(1).max(10),
          passphrase: secret.optional(),
          // §2.4a: a key on the participant's own token instead of a passphrase.
          token: z.object({ serial: z.string().min(1).max(64), keyLabel: z.string().min(1).max(64), pin: z.string().min(1).max(256) }).strict().optional(),
          sourceId: z.string().max(20).optional(),
        })
        .strict()
        .refine((p) => (p.passphrase === undefined) !== (p.token === undefined), "give either a passphrase or a token, not both"),
    )
    .min(1)
    .max(300),
  passphrase: z.object({ passphrase: secret }).strict(),
  "choose-signers": z.object({ ids: z.array(z.string().max(20)).min(1).max(255) }).strict(),
  "choose-token": z.object({ slotId: z.string().min(1).max(64) }).strict(),
  pin: z.object({ pin: z.string().min(1).max(256) }).strict(),
  "hand-out-share": z.object({ confirmed: z.literal(true) }).strict(),
  "reenter-share": z.object({ share: secret }).strict(),
  // Handles minted by the core (suggestions) or by a main-process Open dialog, never paths typed on screen.
  "select-source": z.object({ transcript: fileHandle, backup: fileHandle.optional() }).strict(),
  briefing: z.object({ confirmed: z.literal(true) }).strict(),
  "collect-share": z.object({ share: secret }).strict(),
  // A file chosen in the main process's Open dialog: its handle, never a path.
  "read-input": z.object({ file: fileHandle }).strict(),
  "compare-input-hash": z.object({ match: z.boolean() }).strict(),
} as const;

type Pending = { prompt: Prompt; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/**
 * Turns the engine's questions into one pending prompt at a time, which the
 * renderer reads from the state and answers. The prompt (and any share words
 * in it) leaves the state as soon as it is answered.
 */
export class PromptBroker {
  private pending: Pending | null = null;
  private n = 0;
  constructor(private readonly changed: () => void) {}

  /** The prompt waiting for an answer, if any. */
  current(): Prompt | null {
    return this.pending?.prompt ?? null;
  }

  /** Asks the room; resolves with the validated answer. */
  ask<K extends keyof typeof ANSWERS>(step: Prompt["step"], body: Extract<PromptBody, { kind: K }>): Promise<z.infer<(typeof ANSWERS)[K]>> {
    if (this.pending) this.pending.reject(new CustosError("PROMPT_REPLACED", "A newer question replaced this one.", ""));
    const prompt = { ...body, id: `q${++this.n}`, step } as Prompt;
    return new Promise((resolve, reject) => {
      this.pending = { prompt, resolve: resolve as (v: unknown) => void, reject };
      this.changed();
    });
  }

  /** Answers the current prompt; a wrong id or shape is refused and the prompt stays. */
  answer(promptId: string, value: unknown): void {
    const p = this.pending;
    if (!p || p.prompt.id !== promptId) throw new CustosError("PROMPT_STALE", "That question is no longer open.", "Reload the screen.");
    const schema = ANSWERS[p.prompt.kind];
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new CustosError("PROMPT_INVALID", `${i.path.join(".") || "answer"}: ${i.message}`, "Fill in the form completely.");
    }
    this.pending = null;
    this.changed();
    p.resolve(parsed.data);
  }

  /** Abandons the current question (the step fails and nothing of it is recorded). */
  cancel(reason: string): void {
    const p = this.pending;
    this.pending = null;
    if (p) p.reject(new CustosError("ABANDONED", reason, "The step was not recorded; resume the ceremony to run it again."));
    this.changed();
  }
}
