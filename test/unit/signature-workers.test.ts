import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { attestationMessage } from "../../electron/core/transcript/chain";
import { checkSignaturesInline, parallelSignatureChecker, signatureChecks, type SignatureTask } from "../../electron/core/transcript/verify/signatures";
import type { Signature } from "../../electron/core/transcript/types";

// The worker threads run their own copy of check 10 (plain JavaScript in a string):
// it must refuse exactly what the inline check refuses.
const bodyHash = "ab".repeat(32);
const msg = attestationMessage(bodyHash);
const spki = (k: ReturnType<typeof generateKeyPairSync>["publicKey"]) => k.export({ format: "der", type: "spki" }).toString("base64");

function ecdsa(curve: string, hash: string, algorithm: Signature["algorithm"], kind: Signature["kind"] = "root-key"): Signature {
  const pair = generateKeyPairSync("ec", { namedCurve: curve });
  const signature = nodeSign(hash, msg, { key: pair.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64");
  return { signer: kind === "root-key" ? "root-key" : "p01", kind, algorithm, publicKey: spki(pair.publicKey), signature };
}
function rsa(bits: number): Signature {
  const pair = generateKeyPairSync("rsa", { modulusLength: bits });
  return { signer: "root-key", kind: "root-key", algorithm: "RSA-PKCS1-SHA256", publicKey: spki(pair.publicKey), signature: nodeSign("sha256", msg, pair.privateKey).toString("base64") };
}

/** A participant's valid Ed25519 signature over `msg`, and the same with its signature bytes forged. */
const ed25519 = (() => {
  const pair = generateKeyPairSync("ed25519");
  const pk = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
  const good: Signature = { signer: "p01", kind: "participant", algorithm: "Ed25519", publicKey: pk, signature: nodeSign(null, msg, pair.privateKey).toString("base64") };
  return { good, forged: { ...good, signature: Buffer.alloc(64, 7).toString("base64") } as Signature };
})();

describe("signature checks on worker threads (§7.2 check 10)", () => {
  const good = ecdsa("P-256", "sha256", "ECDSA-SHA256");
  const bad: Array<[string, Signature]> = [
    ["ECDSA-SHA256 over a P-384 key", ecdsa("P-384", "sha256", "ECDSA-SHA256")],
    ["ECDSA-SHA384 over a P-256 key", ecdsa("P-256", "sha384", "ECDSA-SHA384")],
    ["a participant's ECDSA-SHA512 (not allowed by §2.4a)", ecdsa("P-521", "sha512", "ECDSA-SHA512", "participant")],
    ["an RSA-2048 root key", rsa(2048)],
  ];
  const valid: Array<[string, Signature]> = [
    ["a participant's ECDSA-SHA384 on P-384", ecdsa("P-384", "sha384", "ECDSA-SHA384", "participant")],
    ["an RSA-3072 root key", rsa(3072)],
  ];

  it.each(valid)("accepts %s, inline and in workers", async (_name, sig) => {
    const tasks: SignatureTask[] = Array.from({ length: 2100 }, (_, seq) => ({ seq, bodyHash, signature: seq === 2050 ? sig : good }));
    expect(await checkSignaturesInline(tasks)).toBe(-1);
    expect(await parallelSignatureChecker(2)(tasks)).toBe(-1);
  });

  it.each(bad)("refuses %s, inline and in workers, at its place", async (_name, sig) => {
    const tasks: SignatureTask[] = Array.from({ length: 2100 }, (_, seq) => ({ seq, bodyHash, signature: seq === 2050 ? sig : good }));
    expect(await checkSignaturesInline(tasks)).toBe(2050);
    expect(await parallelSignatureChecker(2)(tasks)).toBe(2050);
  });
});

describe("signature workers: the verdict does not depend on which thread answers first", () => {
  const { good, forged } = ed25519;

  it("reports the earliest invalid signature when several chunks hold one", async () => {
    // 2600 one-signature entries = 21 chunks of 125: bad ones in the 3rd and the 17th chunk.
    const tasks: SignatureTask[] = Array.from({ length: 2600 }, (_, seq) => ({ seq, bodyHash, signature: seq === 260 || seq === 2100 ? forged : good }));
    expect(await checkSignaturesInline(tasks)).toBe(260);
    expect(await parallelSignatureChecker(2)(tasks)).toBe(260);
    expect(await parallelSignatureChecker(3)(tasks)).toBe(260);
  });

  it("refuses a signature whose fields are not text, in workers as inline", async () => {
    const odd = { ...good, signature: 64 as unknown as string };
    const tasks: SignatureTask[] = Array.from({ length: 2100 }, (_, seq) => ({ seq, bodyHash, signature: seq === 2099 ? odd : good }));
    expect(await checkSignaturesInline(tasks)).toBe(2099);
    expect(await parallelSignatureChecker(2)(tasks)).toBe(2099);
  });
});

describe("signature checks of a whole file, asked by a list of positions (one list per ceremony)", () => {
  const { good, forged } = ed25519;
  // Entries of two signatures; `bad` lists [entry, k] pairs whose k-th signature is forged.
  const entryText = (e: number, bad: Array<[number, number]>) => JSON.stringify([0, 1].map((k) => (bad.some(([x, y]) => x === e && y === k) ? forged : good)));

  it.each([1, 2, 3])("answer each list on its own, with %i thread(s)", async (threads) => {
    const checks = signatureChecks(threads);
    try {
      const bad: Array<[number, number]> = [[40, 1], [700, 0], [1300, 1], [1301, 0]];
      const at: number[] = [];
      for (let e = 0; e < 1500; e++) at.push(checks.add(bodyHash, entryText(e, bad)));
      expect(at).toEqual(Array.from({ length: 1500 }, (_, e) => e));
      const range = (from: number, to: number) => at.slice(from, to);
      expect(await checks.firstInvalid(range(0, 40))).toBeUndefined();
      expect(await checks.firstInvalid(range(0, 1500))).toEqual({ index: 40, k: 1 });
      expect(await checks.firstInvalid(range(41, 1000))).toEqual({ index: 700 - 41, k: 0 });
      expect(await checks.firstInvalid(range(1000, 1500))).toEqual({ index: 300, k: 1 });
      expect(await checks.firstInvalid([1301])).toEqual({ index: 0, k: 0 });
      expect(await checks.firstInvalid(range(1302, 1500))).toBeUndefined();
      // Two ceremonies whose rows came interleaved: each list is answered in its own order.
      expect(await checks.firstInvalid([1, 1301, 3, 40])).toEqual({ index: 1, k: 0 });
      expect(await checks.firstInvalid([0, 2, 4, 40, 700])).toEqual({ index: 3, k: 1 });
      // What was fed at a position is there to be confirmed.
      expect(checks.fed(40)).toEqual([bodyHash, entryText(40, bad)]);
      expect(checks.fed(1500)).toBeUndefined();
    } finally {
      await checks.close();
    }
  });

  it.each([1, 2])("call an entry whose stored text is not a list of signatures invalid, never throw (%i thread(s))", async (threads) => {
    const checks = signatureChecks(threads);
    try {
      for (const t of ["not json", "{}", "[1]", `[${JSON.stringify(good)},null]`, `[${JSON.stringify({ ...good, algorithm: 5 })}]`, undefined, 42]) checks.add(bodyHash, t);
      checks.add(7, JSON.stringify([good]));
      checks.add(bodyHash, JSON.stringify([good, good]));
      const firsts = [];
      for (let e = 0; e < 9; e++) firsts.push(await checks.firstInvalid([e]));
      expect(firsts).toEqual([{ index: 0, k: 0 }, { index: 0, k: 0 }, { index: 0, k: 0 }, { index: 0, k: 1 }, { index: 0, k: 0 }, { index: 0, k: 0 }, { index: 0, k: 0 }, { index: 0, k: 0 }, undefined]);
    } finally {
      await checks.close();
    }
  });

  it("a thread that stopped is an error, never a verdict or a wait without end", async () => {
    // The second thread stops at its second chunk, as one would that runs out of memory.
    let started = 0;
    const checks = signatureChecks(2, (source) =>
      new Worker(++started === 2 ? `${source}\nlet chunks = 0; parentPort.on("message", () => { if (++chunks === 2) process.exit(3); });` : source, { eval: true }),
    );
    try {
      const at = Array.from({ length: 1200 }, (_, e) => checks.add(bodyHash, entryText(e, [])));
      await expect(checks.firstInvalid(at)).rejects.toThrow(/signature-checking thread stopped unexpectedly/);
    } finally {
      await checks.close();
    }
  });
});


describe("an entry with more signatures text than a chunk holds", () => {
  const { good } = ed25519;

  it("is checked only once a walk asks for it, so it holds up no other entry's answer (a crafted entry no walk reaches costs nothing)", async () => {
    // Each worker counts the entries it is given in a shared counter.
    const seen = new Int32Array(new SharedArrayBuffer(4));
    const checks = signatureChecks(2, (source) =>
      // Counted before the checker's own listener runs (listeners run in the order they were added), so before its answer.
      new Worker(`{ const wt = require("node:worker_threads"); const n = new Int32Array(wt.workerData); wt.parentPort.on("message", (m) => Atomics.add(n, 0, m.fields.length / 2)); }\n${source}`, {
        eval: true,
        workerData: seen.buffer,
      }),
    );
    try {
      const small = JSON.stringify([good, good]);
      const before = Array.from({ length: 300 }, () => checks.add(bodyHash, small));
      const big = checks.add(bodyHash, JSON.stringify(Array.from({ length: 1000 }, () => good)));
      const after = Array.from({ length: 300 }, () => checks.add(bodyHash, small));
      expect(await checks.firstInvalid([...before, ...after])).toBeUndefined();
      expect(Atomics.load(seen, 0)).toBe(600);
      expect(await checks.firstInvalid([big])).toBeUndefined();
      expect(Atomics.load(seen, 0)).toBe(601);
    } finally {
      await checks.close();
    }
  });
});
