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

export interface VerifyBench {
  entries: number;
  ms: number;
  entriesPerSecond: number;
  limit: number;
  ratio: number;
  rate: number;
  cores: number;
}

/** Median of three verifications of a 10,000-entry transcript, as a ratio of this machine's limit. */
export async function verifyBench(n = 10_000): Promise<VerifyBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-verify-bench-"));
  try {
    const file = await bigTranscript(dir, n);
    const first = await verifyFile(file);
    if (exitStatus(first) !== 0) throw new Error("the bench transcript does not verify");
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await verifyFile(file);
      times.push(performance.now() - t0);
    }
    const ms = times.sort((a, b) => a - b)[1]!;
    const rate = ed25519Rate();
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    const limit = (rate * cores) / 2;
    const entriesPerSecond = n / (ms / 1000);
    return { entries: n, ms, entriesPerSecond, limit, ratio: entriesPerSecond / limit, rate, cores };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("verify-bench.ts")) {
  const r = await verifyBench();
  console.log(
    `custos verify, ${r.entries} entries × 2 signatures: ${r.ms.toFixed(0)} ms, ${Math.round(r.entriesPerSecond)} entries/s; ` +
      `limit ${Math.round(r.limit)} entries/s (${Math.round(r.rate)} Ed25519 verifies/s/core × ${r.cores} cores ÷ 2); ratio ${r.ratio.toFixed(2)} (goal ≥ 0.8)`,
  );
}
