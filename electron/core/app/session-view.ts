/**
 * What the screens see of the session, and the room display's cut of it. The
 * room display (projected, filmed) gets no secret at all: a share being handed
 * out reaches it as "share 2 of 5 to Esther", never its words; what a
 * custodian types reaches it as a count of words. The private view (the
 * operator's own panel) gets the whole state.
 */
import type { Ceremony } from "../engine/ceremony";
import { keyFingerprint } from "../transcript/identity";
import { ABORT_ACTION, DEVIATION_ACTION, EXCEPTION_ACTION, type StoredEntry } from "../transcript/types";
import type { Prompt, ShownError } from "./prompts";
import { hashWords } from "./words";

export type Surface = "room" | "private";

/** An exception, deviation or abort as the screens list it. */
export interface OffScript {
  seq: number;
  kind: "exception" | "deviation" | "abort";
  text: string;
}

/** A hash to read aloud: the hex and its first words. */
export interface ReadAloud {
  label: string;
  hex: string;
  words: string[];
}

/** What the renderer shows; the only prompt carrying secrets is a share being handed out, and only on the private view. */
export interface SessionState {
  version: number;
  ceremony: null | {
    id: string;
    mode: "rehearsal" | "production";
    scriptTitle: string;
    scriptId: string;
    steps: Array<{ id: string; title: string }>;
    roles: Array<{ id: string; title: string }>;
    completed: number;
    /** Entries recorded so far: the next entry is number entries + 1. */
    entries: number;
    done: boolean;
    aborted: boolean;
    head: string;
    headWords: string[];
    /** `token`: this person signs with a key on their own token (its PIN, not a passphrase); the serial is no secret. */
    participants: Array<{ id: string; name: string; roles: string[]; fingerprint: string; token?: { serial: string; keyLabel: string } }>;
    unlocked: Array<{ participantId: string; name: string; until: number }>;
    artifactsDir: string;
    /** Script SHA-256, root key fingerprint, certificate hash: to read aloud. */
    facts: ReadAloud[];
    /** Roles that sign an exception and an abort (their titles). */
    exceptionRoles: string[];
    abortRoles: string[];
    /** Exceptions, deviations and an abort recorded so far, newest last. */
    offScript: OffScript[];
  };
  step: null | { index: number; total: number; id: string; title: string; read: string; action: string; attest: Array<{ role: string; who: string }> };
  running: boolean;
  prompt: Prompt | null;
  lastError: ShownError | null;
  lastEntry: null | { seq: number; stepId: string; action: string; entryHash: string; signedBy: Array<{ name: string; roles: string[] }> };
  /** Share cards handed out in the step that runs now (leaving voids them): numbers and names only. */
  handedOut: Array<{ index: number; custodianName: string; card: number }>;
  /** A share being typed in on the private view: how far, never what. */
  typing: null | { filled: number; valid: number; of: number };
}

/** The room display's cut: every secret removed (share words and hex). */
export function forRoom(s: SessionState): SessionState {
  const p = s.prompt;
  if (p && p.kind === "hand-out-share") {
    return { ...s, prompt: { ...p, card: { ...p.card, words: [] } } };
  }
  return s;
}

/** The readable summary of an off-script entry. */
function offScriptOf(e: StoredEntry): OffScript | null {
  const b = e.body;
  if (b.action === EXCEPTION_ACTION) return { seq: b.seq, kind: "exception", text: String(b.inputs.text ?? "") };
  if (b.action === ABORT_ACTION) return { seq: b.seq, kind: "abort", text: String(b.inputs.reason ?? "") };
  if (b.action === DEVIATION_ACTION) return { seq: b.seq, kind: "deviation", text: deviationText(b.inputs as Record<string, unknown>) };
  return null;
}

/** A deviation as a sentence (the room display and the private view show the same words). */
export function deviationText(i: Record<string, unknown>): string {
  const who = typeof i.custodianName === "string" ? i.custodianName : "";
  switch (i.kind) {
    case "wrong-pin":
      return `Wrong ${i.pinRole === "so" ? "security officer" : "user"} PIN (${String(i.wrongAttempts)} wrong in this step).`;
    case "step-failed":
      return `Step "${String(i.stepTitle ?? i.step)}" failed: ${String(i.reason ?? "")}`;
    case "retry":
      return `Step "${String(i.stepTitle ?? i.step)}" run again (attempt ${String(i.attempt)}).`;
    case "share-check-failed":
      return `Share ${String(i.share)} for ${who} did not match when typed back in (card ${String(i.card)}).`;
    case "card-void":
      return `Card ${String(i.card)} of share ${String(i.share)} (${who}) is void: it must be destroyed.`;
    case "card-reissued":
      return `Share ${String(i.share)} re-issued to ${who} as card ${String(i.card)}.`;
    case "share-reentry-failed":
    case "share-entry-failed":
      return `A share typed in by ${who} was refused (attempt ${String(i.attempt)}).`;
    case "left": {
      const cards = Array.isArray(i.voidCards) ? (i.voidCards as Array<{ share: number; custodianName: string }>) : [];
      return `The ceremony was left${cards.length ? `; void cards to collect: ${cards.map((c) => `share ${c.share} (${c.custodianName})`).join(", ")}` : ""}.`;
    }
    case "resumed":
      return "The ceremony was resumed.";
    default:
      return String(i.kind);
  }
}

/** Builds the full state from the open ceremony. */
export function ceremonyView(c: Ceremony, artifactsDir: string): NonNullable<SessionState["ceremony"]> {
  const entries = c.transcript();
  const title = (role: string) => c.script.roles.find((r) => r.id === role)?.title ?? role;
  const people = c.enrolled();
  const facts: ReadAloud[] = [{ label: "Script SHA-256", hex: c.meta.scriptSha256, words: hashWords(c.meta.scriptSha256) }];
  for (const e of entries) {
    const o = e.body.outputs as Record<string, unknown>;
    const rk = o.rootKey as { fingerprint?: string } | undefined;
    if (rk?.fingerprint && !facts.some((f) => f.label === "Root key fingerprint")) facts.push({ label: "Root key fingerprint", hex: rk.fingerprint, words: hashWords(rk.fingerprint) });
    const cert = o.certificate as { sha256?: string } | undefined;
    if (cert?.sha256 && !facts.some((f) => f.label === "Certificate SHA-256")) facts.push({ label: "Certificate SHA-256", hex: cert.sha256, words: hashWords(cert.sha256) });
  }
  return {
    id: c.id,
    mode: c.meta.mode,
    scriptTitle: c.script.title,
    scriptId: c.script.id,
    steps: c.script.steps.map((s) => ({ id: s.id, title: s.title })),
    roles: c.script.roles.map((r) => ({ id: r.id, title: r.title })),
    completed: c.completedSteps,
    entries: entries.length,
    done: c.done,
    aborted: c.aborted,
    head: c.head(),
    headWords: hashWords(c.head()),
    participants: people.map((p) => ({
      id: p.id,
      name: p.name,
      roles: p.roles.map(title),
      fingerprint: safeFingerprint(p.publicKey),
      ...(p.token ? { token: { serial: p.token.serial, keyLabel: p.token.label } } : {}),
    })),
    unlocked: c.unlockedKeys().map((u) => ({ ...u, name: people.find((p) => p.id === u.participantId)?.name ?? u.participantId })),
    artifactsDir,
    facts,
    exceptionRoles: c.script.exceptions.attest.map((a) => title(a.role)),
    abortRoles: c.script.abort.attest.map((a) => title(a.role)),
    offScript: entries.map(offScriptOf).filter((x): x is OffScript => x !== null),
  };
}

/** The entry just recorded, with who signed it (names and role titles). */
export function entryView(c: Ceremony, e: StoredEntry): NonNullable<SessionState["lastEntry"]> {
  const title = (role: string) => c.script.roles.find((r) => r.id === role)?.title ?? role;
  const people = c.enrolled();
  return {
    seq: e.body.seq,
    stepId: e.body.stepId,
    action: e.body.action,
    entryHash: e.entryHash,
    signedBy: e.signatures.map((s) => {
      const p = people.find((x) => x.id === s.signer);
      return p ? { name: p.name, roles: p.roles.map(title) } : { name: s.kind === "root-key" ? "the root key" : s.signer, roles: [] };
    }),
  };
}

function safeFingerprint(publicKey: string): string {
  try {
    return keyFingerprint(publicKey);
  } catch {
    return "";
  }
}
