/** `custos verify`: the auditor's command (docs/transcript-format.md §7–§10). */
import { parseArgs } from "node:util";
import { hashWords } from "../core/app/words";
import { CustosError } from "../core/errors";
import { verifyAnyFile } from "../core/source";
import type { CeremonyVerdict, VerifyResult } from "../core/transcript/types";
import { describeFailure, exitStatus, normaliseHex, type Pins } from "../core/transcript/verify/index";
import { hintLines } from "./boundary";
import { safe } from "./escape";

export type Out = { out: (s: string) => void; err: (s: string) => void };

export const VERIFY_USAGE = `custos verify <transcript.sqlite | bundle.json | report.pdf> [--ceremony ID]
        [--expect-head HEX] [--expect-entry SEQ=HEX]... [--expect-script-sha256 HEX]
        [--expect-root-fingerprint HEX] [--expect-participant ID=FINGERPRINT]...
  exit 0 intact and complete, 1 not intact, 2 unreadable, 3 intact so far but not complete,
       4 intact but the ceremony was aborted`;

const HEX64 = /^[0-9a-f]{64}$/;

function hexArg(v: string, name: string, length = 64): string {
  const h = normaliseHex(v);
  if (!new RegExp(`^[0-9a-f]{${length}}$`).test(h)) throw new CustosError("USAGE", `--${name} needs ${length} hex characters, not ${JSON.stringify(safe(v))}.`, VERIFY_USAGE);
  return h;
}

function pair(v: string, name: string): [string, string] {
  const i = v.indexOf("=");
  if (i <= 0) throw new CustosError("USAGE", `--${name} takes KEY=VALUE, not ${JSON.stringify(safe(v))}.`, VERIFY_USAGE);
  return [v.slice(0, i), v.slice(i + 1)];
}

/** Pins from the command line; a malformed one is a usage error, never silently ignored. */
export function parsePins(values: Record<string, string | string[] | boolean | undefined>): Pins {
  const pins: Pins = {};
  if (typeof values["expect-head"] === "string") pins.head = hexArg(values["expect-head"], "expect-head");
  if (typeof values["expect-script-sha256"] === "string") pins.scriptSha256 = hexArg(values["expect-script-sha256"], "expect-script-sha256");
  if (typeof values["expect-root-fingerprint"] === "string") pins.rootFingerprint = hexArg(values["expect-root-fingerprint"], "expect-root-fingerprint");
  const entries = values["expect-entry"];
  if (Array.isArray(entries)) {
    pins.entries = entries.map((e) => {
      const [seq, hash] = pair(e, "expect-entry");
      if (!/^[1-9][0-9]{0,8}$/.test(seq)) throw new CustosError("USAGE", `--expect-entry needs SEQ=HEX with SEQ a positive entry number, not ${JSON.stringify(safe(seq))}.`, VERIFY_USAGE);
      return { seq: Number(seq), hash: hexArg(hash, "expect-entry") };
    });
  }
  const people = values["expect-participant"];
  if (Array.isArray(people)) {
    pins.participants = people.map((p) => {
      const [id, fpr] = pair(p, "expect-participant");
      return { id, fingerprint: hexArg(fpr, "expect-participant", 32) };
    });
  }
  return pins;
}

function headline(c: CeremonyVerdict): string {
  if (!c.ok) return `NOT INTACT — ${safe(describeFailure(c.failure!))}`;
  if (c.completeness === "complete") return "INTACT AND COMPLETE — sealed";
  if (c.completeness === "aborted") return `INTACT, ABORTED — ${safe(c.facts.abortReason ?? "")}`;
  return `INTACT SO FAR, NOT COMPLETE — ${c.facts.stepsDone} of ${c.facts.stepsTotal ?? "?"} script steps recorded; nothing shows whether entries were removed from the end (pass --expect-head)`;
}

function printCeremony(file: string, c: CeremonyVerdict, io: Out): void {
  const f = c.facts;
  io.out(`ceremony ${safe(c.ceremonyId)}: ${headline(c)}`);
  if (f.scriptTitle) io.out(`  script    ${safe(f.scriptTitle)} (${safe(f.scriptId)} ${safe(f.scriptVersion)})${f.scriptSha256 ? `, sha256 ${safe(f.scriptSha256)}` : ""}`);
  if (f.mode) io.out(`  mode      ${f.mode === "rehearsal" ? "REHEARSAL" : "production"}${f.signed ? "" : "  (claimed by an unsigned entry)"}`);
  io.out(`  entries   ${c.entries} (${f.stepsDone} of ${f.stepsTotal ?? "?"} script steps, ${f.exceptions} exception${f.exceptions === 1 ? "" : "s"}, ${f.deviations} deviation${f.deviations === 1 ? "" : "s"})`);
  if (c.head && HEX64.test(c.head)) io.out(`  head      ${c.head}  (${hashWords(c.head).join(" ")})`);
  if (f.rootKeyFingerprint) io.out(`  root key  SPKI sha256 ${safe(f.rootKeyFingerprint)}`);
  if (f.certificateSha256) io.out(`  root cert sha256 ${safe(f.certificateSha256)}`);
  if (c.ok && !f.signed) io.out("  NOTHING IN IT IS SIGNED YET: no participant is enrolled, so its mode, script and dates are claims, not proof.");
  for (const p of c.pins) io.out(`  pin       ${p.held ? "held" : "DOES NOT HOLD"}: ${safe(p.pin)} — ${safe(p.detail)}`);
  void file;
}

/** Prints a verdict for people; every string from the file is escaped. */
export function printVerdict(file: string, r: VerifyResult, io: Out, pinsGiven: boolean): void {
  const kind = r.source === "sqlite" ? "SQLite transcript" : r.source === "bundle" ? "bundle" : "PDF report with attached bundle";
  // The file's name never starts a line: a file named "verdict: intact and complete (exit 0)" must not look like one.
  io.out(`file: ${safe(file)} (${kind})`);
  if (r.fileFailure) io.out(`NOT INTACT — ${safe(describeFailure(r.fileFailure))}`);
  for (const c of r.ceremonies) printCeremony(file, c, io);
  if (r.ceremonies.length === 0 && !r.fileFailure) io.out("no ceremony found");
  if (r.source === "pdf" && r.report?.checked && r.ceremonies.every((c) => c.ok)) io.out("report: every page and the metadata are exactly what Custos renders from the attached bundle");
  if (!pinsGiven && r.ceremonies.some((c) => c.ok)) {
    io.out("no outside pins given: a transcript re-made with new keys would verify too, and anyone can re-encode an ECDSA signature (a different head, the same content). Pin the final head from the paper signed in the room with --expect-head.");
  }
  const status = exitStatus(r);
  io.out(`verdict: ${["intact and complete", "NOT INTACT", "", "intact so far, NOT COMPLETE", "intact, ABORTED"][status]} (exit ${status})`);
}

/** Runs `custos verify`; returns its exit status. */
export async function verifyCommand(args: string[], io: Out): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ceremony: { type: "string", multiple: true },
      "expect-head": { type: "string", multiple: true },
      "expect-entry": { type: "string", multiple: true },
      "expect-script-sha256": { type: "string", multiple: true },
      "expect-root-fingerprint": { type: "string", multiple: true },
      "expect-participant": { type: "string", multiple: true },
    },
  });
  // One value each: a second --expect-head would otherwise silently replace the first, and the first would never be checked.
  const once: Record<string, string | string[] | boolean | undefined> = { ...values };
  for (const name of ["ceremony", "expect-head", "expect-script-sha256", "expect-root-fingerprint"] as const) {
    const v = values[name];
    if (v && v.length > 1) throw new CustosError("USAGE", `--${name} was given ${v.length} times; give it once (only one value could be checked).`, VERIFY_USAGE);
    once[name] = v?.[0];
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new CustosError("USAGE", "verify needs exactly one file.", VERIFY_USAGE);
  const pins = parsePins(once);
  let r: VerifyResult;
  try {
    const ceremony = once.ceremony as string | undefined;
    r = await verifyAnyFile(file, { pins, ...(ceremony ? { ceremonyId: ceremony } : {}) });
  } catch (e) {
    if (e instanceof CustosError && ["VERIFY_UNREADABLE", "TRANSCRIPT_UNREADABLE", "TRANSCRIPT_TOO_NEW"].includes(e.code)) {
      io.err(`custos verify: ${safe(e.message)}${hintLines(e.hint)}`);
      io.out("verdict: unreadable (exit 2)");
      return 2;
    }
    throw e;
  }
  printVerdict(file, r, io, Object.keys(pins).length > 0);
  return exitStatus(r);
}
