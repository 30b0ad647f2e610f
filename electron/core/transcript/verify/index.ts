/**
 * `custos verify`: detects the kind of file (§4, §8), reads it without
 * changing it, verifies every ceremony in it (§7), and gives the exit status
 * of §7.6.
 */
import fs from "node:fs";
import os from "node:os";
import { CustosError } from "../../errors";
import { SQLITE_MAGIC } from "../store";
import type { CeremonyVerdict, VerifyFailure, VerifyResult } from "../types";
import { verifyCeremony } from "./ceremony";
import type { Pins } from "./pins";
import { signatureChecks, type SignatureChecks } from "./signatures";
import { readBundleInput, readSqliteInput, unreadable, type FileInput } from "./sources";

export { verifyCeremony } from "./ceremony";
export { checkPins, normaliseHex, type Pins } from "./pins";
export { readScriptRules, type ScriptRules } from "./script-rules";
export { checkSignaturesInline, parallelSignatureChecker, PARALLEL_MIN_ENTRIES, type SignatureChecker } from "./signatures";
export { BUNDLE_FORMAT, readBundleInput, readSqliteInput } from "./sources";

import { readCapped } from "../../files/evidence-bytes";
import { MAX_EVIDENCE_BYTES } from "../store-open";
export { MAX_EVIDENCE_BYTES } from "../store-open";

/** What a PDF report needs from the report module (kept out of the transcript module). */
export interface PdfHooks {
  /** The bytes of the one embedded bundle.json, or a failure (§8 structure). */
  extractBundle(pdf: Buffer): { bundle: Buffer } | { failure: VerifyFailure };
  /** §8: is the file exactly Custos's rendering of this bundle? A failure names the page. */
  checkBinding(pdf: Buffer, bundleText: string): Promise<VerifyFailure | undefined>;
}

export interface VerifyOptions {
  pins?: Pins;
  /** Only this ceremony of a database. */
  ceremonyId?: string;
  pdf?: PdfHooks;
  /** Worker threads for the signature checks of a large file (default: one per core; 1 = none). */
  threads?: number;
  /** From this file size on, the threads start before the file is read (default 1 MiB; tests lower it). */
  earlyThreadsBytes?: number;
}

const cannotRead = (path: string, cause: unknown) => unreadable(path, `the file cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}).`, cause);

/** A file that may be evidence: a regular file, size-capped. */
function evidenceSize(path: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (cause) {
    throw cannotRead(path, cause);
  }
  if (!st.isFile()) throw unreadable(path, "it is not a regular file.");
  if (st.size > MAX_EVIDENCE_BYTES) throw unreadable(path, `it is larger than ${MAX_EVIDENCE_BYTES / 1024 / 1024} MiB.`);
  return st.size;
}

/** Reads a file as evidence: a regular file, size-capped (counted as read, through one descriptor); never opened for writing. */
export function readEvidence(path: string): Buffer {
  evidenceSize(path);
  return readCapped(path, MAX_EVIDENCE_BYTES, (why) => unreadable(path, why));
}

/** The first bytes of an evidence file (enough to tell a SQLite database), and its size; opened read-only. */
function sniffEvidence(path: string): { size: number; head: Buffer } {
  const size = evidenceSize(path);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, "r");
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return { size, head: head.subarray(0, n) };
  } catch (cause) {
    throw cannotRead(path, cause);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** From this size on, a file holds enough signatures for worker threads (≈ PARALLEL_MIN_ENTRIES entries), so they start before it is read. */
const EARLY_THREADS_BYTES = 1024 * 1024;

/**
 * The signature checks of one file: fed with each ceremony's rows (in their
 * order) while they are read, or just before its walk; `positions` says where
 * each ceremony's rows went (rows of several ceremonies may come interleaved:
 * SQLite's ORDER BY and JavaScript need not agree on text order).
 */
interface FileChecks {
  checks: SignatureChecks;
  positions: Map<string, number[]>;
  /** The row hook for readSqliteInput, called for each entries row in the order SQLite returns them. */
  feed(ceremonyId: unknown, bodyHash: unknown, signaturesText: unknown): void;
}

function fileChecks(threads: number, only?: string): FileChecks {
  const checks = signatureChecks(threads);
  const positions = new Map<string, number[]>();
  return {
    checks,
    positions,
    feed(ceremonyId, bodyHash, signaturesText) {
      // A row whose ceremony id is not text fails the file's type check (§4.1); its signatures are never asked about.
      if (typeof ceremonyId !== "string" || (only !== undefined && ceremonyId !== only)) return;
      let list = positions.get(ceremonyId);
      if (!list) positions.set(ceremonyId, (list = []));
      list.push(checks.add(bodyHash, signaturesText));
    },
  };
}

async function verifyInput(input: FileInput, o: VerifyOptions, fc: FileChecks): Promise<CeremonyVerdict[]> {
  const chosen = o.ceremonyId === undefined ? input.ceremonies : input.ceremonies.filter((c) => c.id === o.ceremonyId);
  // A file that failed at the file level (§4.1) holds no readable ceremony: its failure is the verdict, not a usage error.
  if (o.ceremonyId !== undefined && chosen.length === 0 && !input.fileFailure) {
    // §7.6: a usage error (exit 2), not a verdict on the file.
    // Ids come from the file (and the option): quoted when they hold anything but plain id characters.
    const shown = (id: string) => (/^[\w.-]{1,100}$/.test(id) ? id : JSON.stringify(id));
    throw new CustosError("VERIFY_UNREADABLE", `The file holds no ceremony ${shown(o.ceremonyId)}.`, `It holds: ${input.ceremonies.map((c) => shown(c.id)).join(", ") || "none"}.`);
  }
  const out: CeremonyVerdict[] = [];
  for (const c of chosen) {
    let positions = fc.positions.get(c.id);
    // A bundle's rows (or a ceremony the reader did not feed as the rows it grouped) go to the checks now, just before the walk.
    if (positions?.length !== c.rows.length) positions = c.rows.map((r) => fc.checks.add(r.bodyHash, r.signaturesJson));
    const v = await verifyCeremony(c.meta, c.rows, { source: input.source, pins: o.pins, signatures: { checks: fc.checks, positions } });
    if (v.ok && input.source === "bundle") {
      const last = c.rows[c.rows.length - 1]?.entryHash;
      if (c.bundleHead !== last) {
        v.ok = false;
        v.failure = { code: "HEAD_MISMATCH", reason: `the bundle's head ${String(c.bundleHead).slice(0, 12)}… is not the hash of its last entry.` };
      }
    }
    out.push(v);
  }
  return out;
}

/** Verifies a transcript database, a bundle, or (with hooks) a report PDF. Throws VERIFY_UNREADABLE for anything else. */
export async function verifyFile(path: string, o: VerifyOptions = {}): Promise<VerifyResult> {
  // A database is read by SQLite (through a private copy): only its first bytes are needed here.
  const { size, head } = sniffEvidence(path);
  const sqlite = head.length === 16 && head.equals(SQLITE_MAGIC);
  const bytes = sqlite ? undefined : readEvidence(path);
  // A large file: threads start before it is read, and its signatures are checked as its rows come in.
  const threads = size >= (o.earlyThreadsBytes ?? EARLY_THREADS_BYTES) ? (o.threads ?? (os.availableParallelism?.() ?? os.cpus().length)) : 1;
  const fc = fileChecks(threads, o.ceremonyId);
  try {
    return await (bytes ? verifyBytes(path, bytes, o, fc) : verifySqlite(path, o, fc));
  } finally {
    await fc.checks.close();
  }
}

async function verifySqlite(path: string, o: VerifyOptions, fc: FileChecks): Promise<VerifyResult> {
  const input = readSqliteInput(path, fc.feed);
  if (!input.fileFailure && input.ceremonies.length === 0) {
    return { source: "sqlite", fileFailure: { code: "NO_ENTRIES", reason: "the database holds no ceremony." }, ceremonies: [] };
  }
  return { source: "sqlite", ...(input.fileFailure ? { fileFailure: input.fileFailure } : {}), ceremonies: await verifyInput(input, o, fc) };
}

async function verifyBytes(path: string, bytes: Buffer, o: VerifyOptions, fc: FileChecks): Promise<VerifyResult> {
  if (bytes.length >= 16 && bytes.subarray(0, 16).equals(SQLITE_MAGIC)) {
    // Read again and now a database (it changed since its first bytes were read): read it as one.
    return verifySqlite(path, o, fc);
  }
  if (bytes.subarray(0, 5).toString("latin1") === "%PDF-") {
    if (!o.pdf) throw unreadable(path, "this build cannot read PDF reports; verify the bundle.json or transcript.sqlite instead.");
    const extracted = o.pdf.extractBundle(bytes);
    if ("failure" in extracted) return { source: "pdf", fileFailure: extracted.failure, ceremonies: [] };
    const input = readBundleInput(`${path} (attached bundle.json)`, extracted.bundle);
    const ceremonies = input.fileFailure ? [] : await verifyInput(input, o, fc);
    const result: VerifyResult = { source: "pdf", ...(input.fileFailure ? { fileFailure: input.fileFailure } : {}), ceremonies, report: { checked: false } };
    if (!input.fileFailure && ceremonies.every((c) => c.ok)) {
      const binding = await o.pdf.checkBinding(bytes, extracted.bundle.toString("utf8"));
      result.report = { checked: true };
      if (binding) {
        for (const c of ceremonies) {
          c.ok = false;
          c.failure = binding;
        }
      }
    }
    return result;
  }
  const input = readBundleInput(path, bytes);
  return { source: "bundle", ...(input.fileFailure ? { fileFailure: input.fileFailure } : {}), ceremonies: input.fileFailure ? [] : await verifyInput(input, o, fc) };
}

/** §7.6 exit status: 1 not intact, 3 incomplete, 4 aborted, 0 complete (worst first). */
export function exitStatus(r: VerifyResult): 0 | 1 | 3 | 4 {
  if (r.fileFailure || r.ceremonies.length === 0 || r.ceremonies.some((c) => !c.ok)) return 1;
  if (r.ceremonies.some((c) => c.completeness === "incomplete")) return 3;
  if (r.ceremonies.some((c) => c.completeness === "aborted")) return 4;
  return 0;
}

/** "entry 5 (step 'generate-root-key'): reason" for a terminal or a dialog (unescaped: escape before printing). */
export function describeFailure(f: VerifyFailure): string {
  const where = f.seq !== undefined ? `entry ${f.seq}${f.stepId ? ` (step '${f.stepId}')` : ""}: ` : "";
  return `${f.code}: ${where}${f.reason}`;
}
