/**
 * Check 10 of §7.2, the expensive one: signature validity. Checks run in
 * batches so they can be spread over worker threads; the verdict is the same
 * either way (the first invalid signature in entry order).
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { attestationMessage, verifySignature } from "../chain";
import type { Signature } from "../types";

/** One signature to check, with the entry it belongs to. */
export interface SignatureTask {
  seq: number;
  bodyHash: string;
  signature: Signature;
}

/** Returns the index (in `tasks`) of the first invalid signature, or -1. */
export type SignatureChecker = (tasks: readonly SignatureTask[]) => Promise<number>;

/** In this thread, one after another. */
export const checkSignaturesInline: SignatureChecker = async (tasks) => {
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    if (!verifySignature(t.signature, attestationMessage(t.bodyHash))) return i;
  }
  return -1;
};

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
function strictB64(t) {
  if (typeof t !== "string" || t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  const b = Buffer.from(t, "base64");
  return b.toString("base64") === t ? b : undefined;
}
function key(kind, pk) {
  const id = kind + ":" + pk;
  if (keys.has(id)) return keys.get(id);
  let k = null;
  try {
    const raw = strictB64(pk);
    if (raw && kind === "participant-ed25519" && raw.length === 32) k = createPublicKey({ key: Buffer.concat([ED_PREFIX, raw]), format: "der", type: "spki" });
    else if (raw && kind === "spki") k = createPublicKey({ key: raw, format: "der", type: "spki" });
  } catch { k = null; }
  if (keys.size > 512) keys.clear();
  keys.set(id, k);
  return k;
}
function check(bodyHash, kind, algorithm, publicKey, signature) {
  try {
    const sig = strictB64(signature);
    if (!sig || sig.length === 0) return false;
    const ed = kind === "participant" && algorithm === "Ed25519";
    if (kind === "participant" && !ed && algorithm !== "ECDSA-SHA256" && algorithm !== "ECDSA-SHA384") return false;
    if (kind !== "participant" && kind !== "root-key") return false;
    const k = key(ed ? "participant-ed25519" : "spki", publicKey);
    if (!k) return false;
    const msg = Buffer.from(CONTEXT + bodyHash, "utf8");
    if (ed) return sig.length === 64 && verify(null, msg, k, sig);
    if (algorithm === "Ed25519") return k.asymmetricKeyType === "ed25519" && verify(null, msg, k, sig);
    if (algorithm.startsWith("ECDSA-")) return k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails.namedCurve === CURVE[algorithm] && verify(HASH[algorithm], msg, { key: k, dsaEncoding: "ieee-p1363" }, sig);
    if (algorithm === "RSA-PKCS1-SHA256") return k.asymmetricKeyType === "rsa" && (k.asymmetricKeyDetails.modulusLength === 3072 || k.asymmetricKeyDetails.modulusLength === 4096) && verify("sha256", msg, k, sig);
    return false;
  } catch { return false; }
}
// A chunk is a flat list of strings, FIELDS per signature (see flatten() in signatures.ts).
parentPort.on("message", (m) => {
  const f = m.fields;
  for (let i = 0, n = 0; i + 4 < f.length; i += 5, n++) {
    if (!check(f[i], f[i + 1], f[i + 2], f[i + 3], f[i + 4])) { parentPort.postMessage({ id: m.id, bad: n }); return; }
  }
  parentPort.postMessage({ id: m.id, bad: -1 });
});
`;

/** Below this many signatures, starting threads costs more than it saves. */
const PARALLEL_MIN = 2000;
/** Signatures sent to a worker at a time: small, so the workers start while the walk is young and end together. */
const CHUNK = 250;
/** Chunks a worker holds at once: one it checks, one waiting, so it never idles and the last chunks go to whoever is free. */
const IN_FLIGHT = 2;

/** Signature checks fed while the entries are walked; finish() gives the first invalid one, in the order added. */
export interface SignatureStream {
  add(task: SignatureTask): void;
  finish(): Promise<number>;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** The strings a worker needs, five per signature, in order (structured clone copies a flat string list cheaply). */
function flatten(tasks: readonly SignatureTask[]): string[] {
  const out = new Array<string>(tasks.length * 5);
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    const s = t.signature;
    out[5 * i] = str(t.bodyHash);
    out[5 * i + 1] = str(s.kind);
    out[5 * i + 2] = str(s.algorithm);
    out[5 * i + 3] = str(s.publicKey);
    out[5 * i + 4] = str(s.signature);
  }
  return out;
}

interface Chunk {
  base: number;
  fields: string[];
}

const cores = (): number => os.availableParallelism?.() ?? os.cpus().length;

/** One worker thread of a SignatureThreads set; `busy` counts the chunks it holds. */
interface Slot {
  w: Worker;
  busy: number;
  exited?: number;
}

/**
 * Signature-checking threads, started before they are needed (a caller can
 * start them before it reads a large file, so their start-up overlaps the
 * read), lent to one stream at a time, ended by close().
 */
export interface SignatureThreads {
  readonly slots: readonly Slot[];
  close(): Promise<void>;
}

export function startSignatureThreads(threads = cores()): SignatureThreads {
  let closing = false;
  const slots: Slot[] = Array.from({ length: threads }, () => {
    const slot: Slot = { w: new Worker(WORKER_SOURCE, { eval: true }), busy: 0 };
    slot.w.on("exit", (code) => {
      if (!closing) slot.exited = code;
    });
    // An error is also reported to the stream using the thread; this keeps it from being thrown when none is.
    slot.w.on("error", () => undefined);
    return slot;
  });
  return {
    slots,
    async close() {
      closing = true;
      await Promise.all(slots.map((x) => x.w.terminate()));
    },
  };
}

/**
 * Checks signatures on worker threads while the caller is still walking the
 * entries (the walk's own work and the signature checks overlap), one worker
 * per core; under PARALLEL_MIN signatures everything runs inline instead.
 * `expected` (how many signatures are likely) starts the workers at once when
 * it reaches PARALLEL_MIN, so their start-up overlaps the walk too; `lent`
 * threads, already started by the caller, are used instead of new ones (and
 * left running). Chunks go to whichever worker has room (at most IN_FLIGHT
 * each), so a worker slowed by the machine does not leave the others idle at
 * the end.
 */
export function signatureStream(threads = cores(), expected = 0, lent?: SignatureThreads): SignatureStream {
  const pending: SignatureTask[] = [];
  const queue: Chunk[] = [];
  let sent = 0;
  let chunks = 0;
  let answered = 0;
  let firstBad = -1;
  let error: unknown;
  let own: SignatureThreads | undefined;
  let slots: readonly Slot[] | undefined;
  let settle: (() => void) | undefined;
  let done = false;
  const check = () => {
    if (settle && (error !== undefined || answered === chunks)) settle();
  };
  const dispatch = () => {
    for (const slot of slots!) {
      while (slot.busy < IN_FLIGHT && queue.length > 0) {
        const c = queue.shift()!;
        slot.busy++;
        slot.w.postMessage({ id: c.base, fields: c.fields });
      }
    }
  };
  const detach: Array<() => void> = [];
  const start = () => {
    if (lent) slots = lent.slots;
    else slots = (own = startSignatureThreads(threads)).slots;
    for (const slot of slots) {
      // A thread that stopped (killed, out of memory) would leave its chunks unanswered.
      const stopped = (code: number) => {
        if (!done) error ??= new Error(`a signature-checking thread stopped unexpectedly (exit code ${code})`);
        check();
      };
      if (slot.exited !== undefined) stopped(slot.exited);
      const onMessage = (m: { id: number; bad: number }) => {
        slot.busy--;
        answered++;
        if (m.bad >= 0 && (firstBad < 0 || m.id + m.bad < firstBad)) firstBad = m.id + m.bad;
        dispatch();
        check();
      };
      const onError = (e: unknown) => {
        error ??= e;
        check();
      };
      slot.w.on("message", onMessage).on("error", onError).on("exit", stopped);
      detach.push(() => slot.w.off("message", onMessage).off("error", onError).off("exit", stopped));
    }
  };
  const flush = (all: boolean) => {
    while (pending.length >= CHUNK || (all && pending.length > 0)) {
      const part = pending.splice(0, CHUNK);
      queue.push({ base: sent, fields: flatten(part) });
      chunks++;
      sent += part.length;
    }
    dispatch();
  };
  const parallel = lent ? lent.slots.length >= 2 : threads >= 2;
  if (parallel && (lent || expected >= PARALLEL_MIN)) start();
  return {
    add(task) {
      pending.push(task);
      if (!slots && parallel && sent + pending.length >= PARALLEL_MIN) start();
      if (slots && pending.length >= CHUNK) flush(false);
    },
    async finish() {
      try {
        if (!slots) return await checkSignaturesInline(pending);
        flush(true);
        await new Promise<void>((resolve) => {
          settle = resolve;
          check();
        });
        if (error !== undefined) throw error;
        return firstBad;
      } finally {
        done = true;
        for (const off of detach) off();
        await own?.close();
      }
    },
  };
}

/** The same, as a batch: every check over worker threads (tests compare it with the inline checks). */
export function parallelSignatureChecker(threads = os.availableParallelism?.() ?? os.cpus().length): SignatureChecker {
  return async (tasks) => {
    const stream = signatureStream(threads);
    for (const t of tasks) stream.add(t);
    return stream.finish();
  };
}
