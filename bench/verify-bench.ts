/**
 * The verifier's budget (issue 10, DESIGN.md "Budgets"): entries per second
 * for a 10,000-entry transcript, next to this machine's own limit — Ed25519
 * verifications per second on one core (node:crypto in a loop, the same
 * OpenSSL `openssl speed` measures) × cores ÷ signatures per entry.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { TranscriptStore } from "../electron/core/transcript/store";
import { verifyFile } from "../electron/core/transcript/verify/index";
import { exitStatus } from "../electron/core/transcript/verify/index";
import { assemble, planCeremony, type Spec } from "../test/vectors/builder";
import { storeBundle } from "../test/unit/transcript-fixture";

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "ceremony-scripts", "root-key-generation.yaml");

/**
 * A sealed generation transcript of n entries: the shipped script's steps,
 * and exceptions before the seal signed by the witness and the administrator
 * (two signatures an entry, the shape of most steps).
 */
export async function bigTranscript(dir: string, n: number): Promise<string> {
  const plan = await planCeremony(SCRIPT);
  const two = ["internal-witness", "ceremony-administrator"].map((r) => plan.people.find((p) => p.roles.includes(r))!.id);
  const steps = plan.specs.slice(0, -1);
  const seal = plan.specs[plan.specs.length - 1]!;
  const exceptions: Spec[] = Array.from({ length: n - plan.specs.length }, (_, k) => ({ stepId: seal.stepId, action: "exception", inputs: { text: `note ${k + 1}: the camera angle was adjusted` }, outputs: {}, signers: two }));
  const bundle = assemble(plan, [...steps, ...exceptions, seal]);
  const file = path.join(dir, `big-${n}.sqlite`);
  const store = TranscriptStore.open(file);
  storeBundle(store, bundle);
  store.close();
  return file;
}

/** Ed25519 verifications per second on one core. */
export function ed25519Rate(seconds = 1): number {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  const msg = Buffer.from("custos-attestation-v2\n" + "0".repeat(64));
  const sig = crypto.sign(null, msg, privateKey);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) crypto.verify(null, msg, publicKey, sig);
    n += 100;
  }
  return n / seconds;
}

/**
 * Ed25519 verifications per second with every core verifying at once (one
 * worker thread per core, the same loop): what the formula's "rate × cores"
 * really is on this machine, since virtual cores need not scale linearly.
 */
export async function ed25519RateAllCores(cores: number, seconds = 1): Promise<number> {
  const source = `
    const { parentPort } = require("node:worker_threads");
    const crypto = require("node:crypto");
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
    const msg = Buffer.from("custos-attestation-v2\\n" + "0".repeat(64));
    const sig = crypto.sign(null, msg, privateKey);
    parentPort.once("message", (ms) => {
      let n = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) { for (let i = 0; i < 100; i++) crypto.verify(null, msg, publicKey, sig); n += 100; }
      parentPort.postMessage(n);
    });`;
  const workers = Array.from({ length: cores }, () => new Worker(source, { eval: true }));
  try {
    await new Promise((r) => setTimeout(r, 200)); // let every thread start before the clock runs
    const counts = await Promise.all(workers.map((w) => new Promise<number>((resolve) => { w.once("message", resolve); w.postMessage(seconds * 1000); })));
    return counts.reduce((a, b) => a + b, 0) / seconds;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export interface VerifyBench {
  entries: number;
  ms: number;
  entriesPerSecond: number;
  limit: number;
  /** Median of the per-trial ratios (each against the rate measured around it). */
  ratio: number;
  ratios: number[];
  rate: number;
  cores: number;
  /** Ed25519 verifies/s with all cores at once, and the ratio against that (÷ 2 signatures an entry). */
  rateAllCores: number;
  ratioAllCores: number;
}

/**
 * Five verifications of a 10,000-entry transcript, each between two half-second
 * measurements of the Ed25519 rate, so each verification is compared with the
 * limit of the same moment (this machine's speed drifts by a third from minute
 * to minute); the figures are the medians of the five.
 */
export async function verifyBench(n = 10_000, trials = 5): Promise<VerifyBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-verify-bench-"));
  try {
    const file = await bigTranscript(dir, n);
    const first = await verifyFile(file);
    if (exitStatus(first) !== 0) throw new Error("the bench transcript does not verify");
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    const trial: Array<{ ms: number; rate: number; ratio: number }> = [];
    let before = ed25519Rate(0.5);
    for (let i = 0; i < trials; i++) {
      const t0 = performance.now();
      await verifyFile(file);
      const ms = performance.now() - t0;
      const after = ed25519Rate(0.5);
      const rate = (before + after) / 2;
      trial.push({ ms, rate, ratio: n / (ms / 1000) / ((rate * cores) / 2) });
      before = after;
    }
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ms = mid(trial.map((t) => t.ms));
    const rate = mid(trial.map((t) => t.rate));
    const entriesPerSecond = n / (ms / 1000);
    const rateAllCores = await ed25519RateAllCores(cores);
    return {
      entries: n,
      ms,
      entriesPerSecond,
      limit: (rate * cores) / 2,
      ratio: mid(trial.map((t) => t.ratio)),
      ratios: trial.map((t) => t.ratio),
      rate,
      cores,
      rateAllCores,
      ratioAllCores: entriesPerSecond / (rateAllCores / 2),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("verify-bench.ts")) {
  const r = await verifyBench();
  console.log(
    `custos verify, ${r.entries} entries × 2 signatures: ${r.ms.toFixed(0)} ms, ${Math.round(r.entriesPerSecond)} entries/s; ` +
      `limit ${Math.round(r.limit)} entries/s (${Math.round(r.rate)} Ed25519 verifies/s/core × ${r.cores} cores ÷ 2); ratio ${r.ratio.toFixed(2)} (median of ${r.ratios.map((x) => x.toFixed(2)).join(", ")}; goal ≥ 0.8); ` +
      `all ${r.cores} cores verifying at once: ${Math.round(r.rateAllCores)} verifies/s (${(r.rateAllCores / r.rate).toFixed(2)}× one core), ratio against that ${r.ratioAllCores.toFixed(2)}`,
  );
}
