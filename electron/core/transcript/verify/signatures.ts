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
function check(t) {
  try {
    const s = t.signature;
    const sig = strictB64(s.signature);
    if (!sig || sig.length === 0) return false;
    const ed = s.kind === "participant" && s.algorithm === "Ed25519";
    if (s.kind === "participant" && !ed && s.algorithm !== "ECDSA-SHA256" && s.algorithm !== "ECDSA-SHA384") return false;
    if (s.kind !== "participant" && s.kind !== "root-key") return false;
    const k = key(ed ? "participant-ed25519" : "spki", s.publicKey);
    if (!k) return false;
    const msg = Buffer.from(CONTEXT + t.bodyHash, "utf8");
    if (ed) return sig.length === 64 && verify(null, msg, k, sig);
    if (s.algorithm === "Ed25519") return k.asymmetricKeyType === "ed25519" && verify(null, msg, k, sig);
    if (s.algorithm.startsWith("ECDSA-")) return k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails.namedCurve === CURVE[s.algorithm] && verify(HASH[s.algorithm], msg, { key: k, dsaEncoding: "ieee-p1363" }, sig);
    if (s.algorithm === "RSA-PKCS1-SHA256") return k.asymmetricKeyType === "rsa" && (k.asymmetricKeyDetails.modulusLength === 3072 || k.asymmetricKeyDetails.modulusLength === 4096) && verify("sha256", msg, k, sig);
    return false;
  } catch { return false; }
}
parentPort.on("message", (m) => {
  const batch = m.tasks;
  for (let i = 0; i < batch.length; i++) if (!check(batch[i])) { parentPort.postMessage({ id: m.id, bad: i }); return; }
  parentPort.postMessage({ id: m.id, bad: -1 });
});
`;

/** Below this many signatures, starting threads costs more than it saves. */
const PARALLEL_MIN = 2000;
/** Signatures sent to a worker at a time: small, so the workers start while the walk is young and end together. */
const CHUNK = 250;

/** Signature checks fed while the entries are walked; finish() gives the first invalid one, in the order added. */
export interface SignatureStream {
  add(task: SignatureTask): void;
  finish(): Promise<number>;
}

/**
 * Checks signatures on worker threads while the caller is still walking the
 * entries (the walk's own work and the signature checks overlap), one worker
 * per core; under PARALLEL_MIN signatures everything runs inline instead.
 * `expected` (how many signatures are likely) starts the workers at once when
 * it reaches PARALLEL_MIN, so their start-up overlaps the walk too.
 */
export function signatureStream(threads = os.availableParallelism?.() ?? os.cpus().length, expected = 0): SignatureStream {
  const pending: SignatureTask[] = [];
  let sent = 0;
  let workers: Worker[] | undefined;
  let next = 0;
  const results: Array<Promise<number>> = [];
  const waiting = new Map<number, (bad: number) => void>();
  const failure: { error?: unknown } = {};
  const start = () => {
    workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on("message", (m: { id: number; bad: number }) => {
        waiting.get(m.id)?.(m.bad < 0 ? -1 : m.id + m.bad);
        waiting.delete(m.id);
      });
      w.on("error", (e) => {
        failure.error = e;
        for (const resolve of waiting.values()) resolve(-1);
        waiting.clear();
      });
      return w;
    });
  };
  const send = (tasks: SignatureTask[], base: number) => {
    const w = workers![next++ % workers!.length]!;
    results.push(new Promise<number>((resolve) => waiting.set(base, resolve)));
    w.postMessage({ id: base, tasks: tasks.map((t) => ({ bodyHash: t.bodyHash, signature: t.signature })) });
  };
  const flush = (all: boolean) => {
    while (pending.length >= CHUNK || (all && pending.length > 0)) {
      const part = pending.splice(0, CHUNK);
      send(part, sent);
      sent += part.length;
    }
  };
  if (threads >= 2 && expected >= PARALLEL_MIN) start();
  return {
    add(task) {
      pending.push(task);
      if (!workers && threads >= 2 && sent + pending.length >= PARALLEL_MIN) start();
      if (workers) flush(false);
    },
    async finish() {
      try {
        if (!workers) return await checkSignaturesInline(pending);
        flush(true);
        const bad = (await Promise.all(results)).filter((r) => r >= 0);
        if (failure.error) throw failure.error;
        return bad.length ? Math.min(...bad) : -1;
      } finally {
        if (workers) await Promise.all(workers.map((w) => w.terminate()));
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
