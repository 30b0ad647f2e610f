import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { checkArtifactName } from "../artifact-name";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";
import type { TokenInfo } from "../hsm";
import type { CeremonyScript } from "../script/schema";
import type { Driver, Participant, ShareCardView } from "../engine/types";

/** A simulated person: rehearsal only, so the passphrase may be written to rehearsal.json. */
export interface SimulatedPerson {
  name: string;
  roles: string[];
  passphrase: string;
  /** Their participant id in the source ceremony (custodians at a recovery, re-split or destruction). */
  sourceId?: string;
  /** §2.4a: they sign with a key on their own token (its serial, the key's label, the token's PIN). */
  token?: { serial: string; keyLabel: string; pin: string };
}

const FIRST = ["Ada", "Brian", "Chiara", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Mira", "Nadia", "Oskar", "Priya"];
const LAST = ["Lovelace", "Kernighan", "Rossi", "Volkov", "Cohen", "Haddad", "Hopper", "Tanaka", "Moreau", "Berg", "Adeyemi", "Nilsson", "Kaur", "Petrova", "Lindqvist", "Shah"];

/** Builds an attendance list that satisfies the script: one person per role seat. */
export function simulatedAttendance(script: CeremonyScript, custodianCount: number, skip: string[] = [], avoid: string[] = []): SimulatedPerson[] {
  const people: SimulatedPerson[] = [];
  const taken = new Set(avoid);
  let n = 0;
  const nextName = (): string => {
    const i = n++;
    const name = `${FIRST[i % FIRST.length]} ${LAST[(i * 7) % LAST.length]}${i >= FIRST.length ? ` ${Math.floor(i / FIRST.length) + 1}` : ""}`;
    if (taken.has(name)) return nextName();
    taken.add(name);
    return name;
  };
  for (const role of script.roles) {
    if (skip.includes(role.id)) continue;
    const seats = role.id === (script.roles.some((r) => r.id === "new-custodian") ? "new-custodian" : "custodian") ? custodianCount : Math.max(role.min, role.id === "auditor" ? 1 : 0);
    for (let i = 0; i < seats; i++) people.push({ name: nextName(), roles: [role.id], passphrase: `rehearsal ${crypto.randomBytes(12).toString("base64url")}` });
  }
  return people;
}

/** Where a simulated room writes what a real room would hand out or print. */
export interface SimulatedRoomOptions {
  outDir: string;
  people: SimulatedPerson[];
  soPin: string;
  userPin: string;
  renderShareCard: (card: ShareCardView) => Promise<Buffer>;
  /** Slot id to pick at token selection; default: the first blank token, else the first. */
  tokenSlot?: (tokens: TokenInfo[]) => string;
  /** Files a signing rehearsal reads as if brought on a medium, by input name (--input name=FILE). */
  inputs?: Record<string, string>;
  /** For recovery, re-split and destruction: the earlier rehearsal's files. */
  source?: {
    transcript: string;
    backup?: string;
    shareText: (sourceId: string) => Promise<string>;
    /** The bags the source sealed the share cards in (share number → serial) and the shares brought, in order: a health check shows those bags. */
    cardBags?: () => Promise<{ bags: Map<number, string>; shares: number[] }>;
  };
  log?: (line: string) => void;
}

/**
 * The Driver for rehearsals: answers every question a real room would, with
 * simulated people. Share cards are written as PDFs and, for rehearsals only,
 * as text under shares/ so a recovery rehearsal can be driven without typing.
 */
export class SimulatedRoom implements Driver {
  private readonly shareText = new Map<number, string>();
  constructor(private readonly o: SimulatedRoomOptions) {}

  private person(p: Participant): SimulatedPerson {
    const s = this.o.people.find((x) => x.name === p.name);
    if (!s) throw new CustosError("REHEARSAL_UNKNOWN_PERSON", `${p.name} is not one of the simulated participants.`, "Re-run the rehearsal from the start.");
    return s;
  }

  async checklist(_v: unknown, _items: string[], fields: Array<{ id: string; kind: string; count?: number; bag?: string; holds?: string }>) {
    const out: Record<string, string | string[]> = {};
    const serial = () => `REH-${crypto.randomInt(100000, 999999)}`;
    for (const f of fields) {
      // The custodians bring the bags their cards were sealed in at the source ceremony (the custody register checks it).
      if (f.count !== undefined && f.bag === "opened" && f.holds === "share-card" && this.o.source?.cardBags) {
        const { bags, shares } = await this.o.source.cardBags();
        out[f.id] = Array.from({ length: f.count }, (_, i) => bags.get(shares[i] ?? 0) ?? serial());
        continue;
      }
      const one = f.kind === "serial" ? serial : f.kind === "confirm" ? () => "confirmed" : () => `rehearsal value for ${f.id}`;
      out[f.id] = f.count !== undefined ? Array.from({ length: f.count }, one) : one();
    }
    return out;
  }

  async enrol() {
    return this.o.people.map((p) => ({ name: p.name, roles: p.roles, ...(p.token ? { token: p.token } : { passphrase: p.passphrase }), sourceId: p.sourceId }));
  }

  async selectSource() {
    if (!this.o.source) throw new CustosError("REHEARSAL_NO_SOURCE", "This rehearsal has no source ceremony.", "Use custos rehearse … --from DIR.");
    return { transcript: this.o.source.transcript, backup: this.o.source.backup };
  }

  async briefing(_v: unknown, brief: import("../engine/types").ShareBrief) {
    this.o.log?.(`  shares for ${brief.sourceCeremonyId}, key ${brief.keyFingerprint.slice(0, 16)}…, ${brief.threshold} of ${brief.total}; expected: ${brief.expected.map((e) => `${e.name} (#${e.shareIndex})`).join(", ")}`);
  }

  async collectShare(_v: unknown, req: { custodian: Participant; error?: CustosError }) {
    if (req.error) throw req.error; // a simulated custodian enters the same card again: stop with the reason
    if (!this.o.source || !req.custodian.sourceId) throw new CustosError("REHEARSAL_NO_SOURCE", `${req.custodian.name} has no share in this rehearsal.`, "Use custos rehearse … --from DIR.");
    return this.o.source.shareText(req.custodian.sourceId);
  }

  async passphrase(_v: unknown, p: Participant) {
    // A participant with a token key types the token's PIN where others type their passphrase.
    const person = this.person(p);
    return person.token ? person.token.pin : person.passphrase;
  }

  async chooseSigners(_v: unknown, _role: string, count: number, candidates: Participant[]) {
    return candidates.slice(0, count).map((c) => c.id);
  }

  async chooseToken(_v: unknown, tokens: TokenInfo[]) {
    if (this.o.tokenSlot) return this.o.tokenSlot(tokens);
    return (tokens.find((t) => !t.initialized) ?? tokens[0]!).slotId;
  }

  async pin(_v: unknown, req: { role: "user" | "so"; error?: CustosError }) {
    if (req.error) throw req.error; // a simulated officer never mistypes: a refusal is a real failure
    return req.role === "so" ? this.o.soPin : this.o.userPin;
  }

  async handOutShare(_v: unknown, card: ShareCardView) {
    const base = `share-${String(card.index).padStart(2, "0")}-of-${String(card.total).padStart(2, "0")}`;
    const cards = path.join(this.o.outDir, "share-cards");
    const texts = path.join(this.o.outDir, "shares");
    fs.mkdirSync(cards, { recursive: true, mode: 0o700 });
    fs.mkdirSync(texts, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(cards, `${base}.pdf`), await this.o.renderShareCard(card), { mode: 0o600 });
    const text = [
      `# REHEARSAL share ${card.index} of ${card.total} (threshold ${card.threshold}) for ${card.custodian.name}`,
      `# ceremony ${card.ceremonyId}; never produced in production`,
      `words: ${card.words.join(" ")}`,
      `hex: ${card.hex}`,
      "",
    ].join("\n");
    writeFileAtomic(path.join(texts, `${base}.txt`), text, { mode: 0o600 });
    this.shareText.set(card.index, card.words.join(" "));
    this.o.log?.(`  share ${card.index}/${card.total} handed to ${card.custodian.name}`);
  }

  async reenterShare(_v: unknown, req: { index: number; error?: CustosError }) {
    if (req.error) throw req.error;
    let t = this.shareText.get(req.index);
    if (!t) {
      // After a restart the in-memory copy is gone; the rehearsal's shares/ folder has it.
      const dir = path.join(this.o.outDir, "shares");
      const f = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.startsWith(`share-${String(req.index).padStart(2, "0")}-of-`)) : undefined;
      if (f) t = readRehearsalShare(path.join(dir, f));
    }
    if (!t) throw new CustosError("REHEARSAL_SHARE_LOST", `Share ${req.index} was not handed out in this run.`, "Re-run the rehearsal from the start.");
    return t;
  }

  async readInput(_v: unknown, req: { name: string; error?: CustosError }) {
    if (req.error) throw req.error;
    const file = this.o.inputs?.[req.name];
    if (!file) throw new CustosError("REHEARSAL_NO_INPUT", `This rehearsal needs the input "${req.name}".`, `Give it with --input ${req.name}=FILE.`);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new CustosError("REHEARSAL_NO_INPUT", `The input "${req.name}" (${file}) cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, "Check the path given with --input.");
    }
    return { fileName: path.basename(file), bytes };
  }

  async compareInputHash(_v: unknown, req: { name: string; sha256: string; words: string[] }) {
    // The simulated requester sent the hash of the very file given: the witness reads both aloud.
    this.o.log?.(`  input ${req.name}: sha256 ${req.sha256} (${req.words.join(" ")}) compared aloud: match`);
    return true;
  }

  async saveArtifact(name: string, data: Buffer) {
    writeFileAtomic(path.join(this.o.outDir, checkArtifactName(name)), data);
  }
}

/** Reads a share text written by a rehearsal (words line). */
export function readRehearsalShare(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  const line = text.split("\n").find((l) => l.startsWith("words: "));
  if (!line) throw new CustosError("REHEARSAL_SHARE_FILE", `${file} has no words line.`, "Use a file from a rehearsal's shares/ folder.");
  return line.slice("words: ".length);
}
