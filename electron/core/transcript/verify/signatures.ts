/**
 * Check 10 of §7.2, the expensive one: signature validity. The entries'
 * stored body hashes and signature texts are handed over as they are read
 * (before the walk has checked them), so the checks run on worker threads
 * while the file is still being read and walked; the walk then asks for the
 * first invalid signature among the entries that passed checks 1–9, where the
 * stored body hash is the body's hash and the signatures text is the one it
 * parsed itself, so the answer is about exactly the signatures it saw. Inline
 * or on threads, the verdict is the same.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { attestationMessage, verifySignature } from "../chain";
import type { Signature } from "../types";

/** Below this many entries, starting threads costs more than it saves (two or more signatures an entry). */
export const PARALLEL_MIN_ENTRIES = 1000;
/** Entries sent to a worker at a time (about 250 signatures): small, so the workers start early and end together. */
const CHUNK = 125;
/** …or fewer, so that a chunk holds about as much work as 125 ordinary entries even when one entry carries many signatures. */
const CHUNK_TEXT = 64 * 1024;

/** Chunks a worker holds at once: one it checks, more waiting, so it does not idle while the reader or the walk is busy. */
const IN_FLIGHT = 3;

// The worker is plain JavaScript evaluated from this string, so it needs no
// file of its own next to a bundle, an asar archive or tsx; it only uses node:crypto.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
const ED_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const CONTEXT = ${JSON.stringify("custos-attestation-v2\n")};
const HASH = { "ECDSA-SHA256": "sha256", "ECDSA-SHA384": "sha384", "ECDSA-SHA512": "sha512", "RSA-PKCS1-SHA256": "sha256" };
const CURVE = { "ECDSA-SHA256": "prime256v1", "ECDSA-SHA384": "secp384r1", "ECDSA-SHA512": "secp521r1" };
const keys = new Map();
// Strict base64: the text is exactly what encoding its bytes gives back (Buffer's decoder alone would skip stray characters).
function strictB64(t) {
  if (typeof t !== "string") return undefined;
  const b = Buffer.from(t, "base64");
  return b.toString("base64") === t ? b : undefined;
}
const edKeys = new Map();
function key(kind, pk) {
  // One cache per kind of encoding, keyed by the text itself (no joined string to build and hash per signature).
  const cache = kind === "participant-ed25519" ? edKeys : keys;
  const hit = cache.get(pk);
  if (hit !== undefined) return hit;
  let k = null;
  try {
    const raw = strictB64(pk);
    if (raw && kind === "participant-ed25519" && raw.length === 32) k = createPublicKey({ key: Buffer.concat([ED_PREFIX, raw]), format: "der", type: "spki" });
    else if (raw && kind === "spki") k = createPublicKey({ key: raw, format: "der", type: "spki" });
  } catch { k = null; }
  if (cache.size > 512) cache.clear();
  cache.set(pk, k);
  return k;
}
function check(msg, kind, algorithm, publicKey, signature) {
  try {
    const sig = strictB64(signature);
    if (!sig || sig.length === 0) return false;
    const ed = kind === "participant" && algorithm === "Ed25519";
    if (kind === "participant" && !ed && algorithm !== "ECDSA-SHA256" && algorithm !== "ECDSA-SHA384") return false;
    if (kind !== "participant" && kind !== "root-key") return false;
    const k = key(ed ? "participant-ed25519" : "spki", publicKey);
    if (!k) return false;
    if (ed) return sig.length === 64 && verify(null, msg, k, sig);
    if (algorithm === "Ed25519") return k.asymmetricKeyType === "ed25519" && verify(null, msg, k, sig);
    if (algorithm.startsWith("ECDSA-")) return k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails.namedCurve === CURVE[algorithm] && verify(HASH[algorithm], msg, { key: k, dsaEncoding: "ieee-p1363" }, sig);
    if (algorithm === "RSA-PKCS1-SHA256") return k.asymmetricKeyType === "rsa" && (k.asymmetricKeyDetails.modulusLength === 3072 || k.asymmetricKeyDetails.modulusLength === 4096) && verify("sha256", msg, k, sig);
    return false;
  } catch { return false; }
}
// A chunk is a flat list of strings, two per entry: its body hash and its stored signatures text.
// The answer lists, for every entry with an invalid signature, its offset in the chunk and that signature's index.
function entryBad(bodyHash, text) {
  let list;
  try { list = JSON.parse(text); } catch { return 0; }
  if (!Array.isArray(list) || typeof bodyHash !== "string") return 0;
  const msg = Buffer.from(CONTEXT + bodyHash, "utf8");
  for (let k = 0; k < list.length; k++) {
    const s = list[k];
    if (s === null || typeof s !== "object" || !check(msg, s.kind, s.algorithm, s.publicKey, s.signature)) return k;
  }
  return -1;
}
parentPort.on("message", (m) => {
  const f = m.fields;
  const bad = [];
  for (let i = 0; i + 1 < f.length; i += 2) {
    const k = entryBad(f[i], f[i + 1]);
    if (k >= 0) bad.push(i / 2, k);
  }
  parentPort.postMessage({ id: m.id, bad });
});
`;

/** The first invalid signature among the entries asked about: which of them (index in the list asked), and the signature's index in its list. */
export interface InvalidSignature {
  index: number;
  k: number;
}

/**
 * The signature checks of one verification: entries added in any order, each
 * given a position; asked about by a list of positions (one ceremony's
 * entries, in its order). close() ends the threads and drops what nobody
 * asked for.
 */
export interface SignatureChecks {
  /** Adds an entry's stored body hash and signatures text; returns its position. */
  add(bodyHash: unknown, signaturesText: unknown): number;
  /** What was added at a position (text values as they were, anything else as ""), so a caller can confirm it is its own entry. */
  fed(position: number): readonly [string, string] | undefined;
  /** The first invalid signature among the entries at these positions, in the list's order; waits for their checks. */
  firstInvalid(positions: readonly number[]): Promise<InvalidSignature | undefined>;
  close(): Promise<void>;
}

const cores = (): number => os.availableParallelism?.() ?? os.cpus().length;

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** One entry's first invalid signature index, or -1; checked in this thread (same rules as the workers'). */
function entryBadInline(bodyHash: string, signaturesText: string): number {
  let list: unknown;
  try {
    list = JSON.parse(signaturesText);
  } catch {
    return 0;
  }
  if (!Array.isArray(list)) return 0;
  const message = attestationMessage(bodyHash);
  for (let k = 0; k < list.length; k++) {
    const s = list[k] as Signature;
    if (s === null || typeof s !== "object") return k;
    try {
      if (!verifySignature(s, message)) return k;
    } catch {
      return k;
    }
  }
  return -1;
}

/** In this thread: each entry checked when it is asked about, once. */
function inlineChecks(): SignatureChecks {
  const entries: Array<[string, string]> = [];
  const result: number[] = [];
  return {
    add(bodyHash, signaturesText) {
      entries.push([text(bodyHash), text(signaturesText)]);
      return entries.length - 1;
    },
    fed: (position) => entries[position],
    async firstInvalid(positions) {
      for (let i = 0; i < positions.length; i++) {
        const e = positions[i]!;
        if (!entries[e]) continue;
        result[e] ??= entryBadInline(entries[e]![0], entries[e]![1]);
        if (result[e]! >= 0) return { index: i, k: result[e]! };
      }
      return undefined;
    },
    async close() {},
  };
}

interface Chunk {
  base: number;
  size: number;
  fields: string[];
  answered: boolean;
  /** Handed to a worker. */
  sent: boolean;
  /** One entry with more text than a chunk holds: checked only once a walk asks for it. */
  big: boolean;
}

/**
 * On `threads` worker threads, started now (so a caller can start them before
 * it reads a large file). Chunks go to whichever worker has room (at most
 * IN_FLIGHT each), so a worker slowed by the machine does not leave the
 * others idle at the end; a stopped thread is an error, never a verdict.
 */
function threadChecks(threads: number, startWorker: WorkerStarter): SignatureChecks {
  let pending: string[] = [];
  let pendingText = 0;
  let count = 0;
  const chunks: Chunk[] = [];
  // Chunks a walk is waiting for go first; then the rest in order, as the rows came. A big chunk waits until asked
  // for: a crafted entry of a hundred thousand signatures that no walk will reach must not hold up the others.
  const wanted: Chunk[] = [];
  const queue: Chunk[] = [];
  /** Position → index of its first invalid signature, for every entry a worker found one in. */
  const bad = new Map<number, number>();
  let error: unknown;
  let closing = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const slots = Array.from({ length: threads }, () => {
    const slot = { w: startWorker(WORKER_SOURCE), held: [] as Chunk[] };
    slot.w.on("message", (m: { id: number; bad: number[] }) => {
      const c = slot.held.find((x) => x.base === m.id);
      if (!c) return;
      slot.held.splice(slot.held.indexOf(c), 1);
      c.answered = true;
      for (let i = 0; i + 1 < m.bad.length; i += 2) bad.set(c.base + m.bad[i]!, m.bad[i + 1]!);
      dispatch();
      wake();
    });
    slot.w.on("error", (e) => {
      error ??= e;
      wake();
    });
    slot.w.on("exit", (code) => {
      // A thread that stops on its own (killed, out of memory) would leave its chunks unanswered.
      if (!closing) error ??= new Error(`a signature-checking thread stopped unexpectedly (exit code ${code})`);
      wake();
    });
    return slot;
  });
  const nextChunk = (): Chunk | undefined => {
    for (const list of [wanted, queue]) {
      while (list.length > 0) {
        const c = list.shift()!;
        if (!c.sent) return c;
      }
    }
    return undefined;
  };
  function dispatch(): void {
    for (const slot of slots) {
      while (slot.held.length < IN_FLIGHT) {
        const c = nextChunk();
        if (!c) return;
        c.sent = true;
        slot.held.push(c);
        slot.w.postMessage({ id: c.base, fields: c.fields });
      }
    }
  }
  /** The chunk holding a position (chunks are in position order), or undefined while it is still pending. */
  const chunkOf = (position: number): Chunk | undefined => {
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = chunks[mid]!;
      if (position < c.base) hi = mid - 1;
      else if (position >= c.base + c.size) lo = mid + 1;
      else return c;
    }
    return undefined;
  };
  const flush = () => {
    if (pending.length === 0) return;
    const c: Chunk = { base: count - pending.length / 2, size: pending.length / 2, fields: pending, answered: false, sent: false, big: pendingText > CHUNK_TEXT };
    pending = [];
    pendingText = 0;
    chunks.push(c);
    if (!c.big) queue.push(c);
    dispatch();
  };
  return {
    add(bodyHash, signaturesText) {
      const t = text(signaturesText);
      // An entry with much text starts a chunk of its own, so it holds up no other entry's answer.
      if (pending.length > 0 && pendingText + t.length > CHUNK_TEXT) flush();
      pending.push(text(bodyHash), t);
      pendingText += t.length;
      count++;
      if (pending.length >= 2 * CHUNK || pendingText >= CHUNK_TEXT) flush();
      return count - 1;
    },
    fed(position) {
      if (position < 0 || position >= count) return undefined;
      const c = chunkOf(position);
      const fields = c ? c.fields : pending;
      const at = 2 * (position - (c ? c.base : count - pending.length / 2));
      return [fields[at]!, fields[at + 1]!];
    },
    async firstInvalid(positions) {
      flush();
      const needed = new Set<Chunk>();
      for (const p of positions) {
        const c = chunkOf(p);
        if (c && !c.answered) needed.add(c);
      }
      for (const c of needed) if (!c.sent) wanted.push(c);
      dispatch();
      await new Promise<void>((resolve) => {
        const check = () => {
          if (error !== undefined || [...needed].every((c) => c.answered)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
      if (error !== undefined) throw error;
      for (let i = 0; i < positions.length; i++) {
        const k = bad.get(positions[i]!);
        if (k !== undefined) return { index: i, k };
      }
      return undefined;
    },
    async close() {
      closing = true;
      queue.length = 0;
      wanted.length = 0;
      await Promise.all(slots.map((s) => s.w.terminate()));
    },
  };
}

/** Starts one worker thread from the checker's source (tests pass one that fails on purpose). */
export type WorkerStarter = (source: string) => Worker;

const startEvalWorker: WorkerStarter = (source) => new Worker(source, { eval: true });

/** Signature checks on `threads` worker threads, or in this thread when `threads` < 2. */
export function signatureChecks(threads = cores(), startWorker: WorkerStarter = startEvalWorker): SignatureChecks {
  return threads >= 2 ? threadChecks(threads, startWorker) : inlineChecks();
}

/** One signature to check (tests compare the inline and the threaded checks with these). */
export interface SignatureTask {
  seq: number;
  bodyHash: string;
  signature: Signature;
}

/** Returns the index (in `tasks`) of the first invalid signature, or -1. */
export type SignatureChecker = (tasks: readonly SignatureTask[]) => Promise<number>;

async function checkTasks(tasks: readonly SignatureTask[], threads: number): Promise<number> {
  const checks = signatureChecks(threads);
  try {
    // Each task as an entry of one signature (the text is what a stored entry would hold).
    const positions = tasks.map((t) => checks.add(t.bodyHash, JSON.stringify([t.signature])));
    return (await checks.firstInvalid(positions))?.index ?? -1;
  } finally {
    await checks.close();
  }
}

/** In this thread, one after another. */
export const checkSignaturesInline: SignatureChecker = (tasks) => checkTasks(tasks, 1);

/** The same over worker threads. */
export function parallelSignatureChecker(threads = cores()): SignatureChecker {
  return (tasks) => checkTasks(tasks, Math.max(2, threads));
}
