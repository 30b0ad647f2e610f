import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { attestationMessage } from "../../electron/core/transcript/chain";
import { checkSignaturesInline, parallelSignatureChecker, signatureStream, startSignatureThreads, type SignatureTask } from "../../electron/core/transcript/verify/signatures";
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
  const pair = generateKeyPairSync("ed25519");
  const pk = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
  const good: Signature = { signer: "p01", kind: "participant", algorithm: "Ed25519", publicKey: pk, signature: nodeSign(null, msg, pair.privateKey).toString("base64") };
  const forged: Signature = { ...good, signature: Buffer.alloc(64, 7).toString("base64") };

  it("reports the earliest invalid signature when several chunks hold one", async () => {
    // 2600 signatures = 11 chunks of 250: bad ones in the 2nd and the 9th chunk.
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

describe("signature threads started ahead and lent to streams", () => {
  const pair = generateKeyPairSync("ed25519");
  const pk = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
  const good: Signature = { signer: "p01", kind: "participant", algorithm: "Ed25519", publicKey: pk, signature: nodeSign(null, msg, pair.privateKey).toString("base64") };
  const forged: Signature = { ...good, signature: Buffer.alloc(64, 7).toString("base64") };
  const tasks = (bad: number[], n = 1200): SignatureTask[] => Array.from({ length: n }, (_, seq) => ({ seq, bodyHash, signature: bad.includes(seq) ? forged : good }));

  it("serve one stream after another (one database, several ceremonies) without mixing their answers", async () => {
    const threads = startSignatureThreads(2);
    try {
      for (const [bad, expected] of [[[700], 700], [[], -1], [[3, 1100], 3], [[1199], 1199]] as Array<[number[], number]>) {
        const stream = signatureStream(2, 0, threads);
        for (const t of tasks(bad)) stream.add(t);
        expect(await stream.finish()).toBe(expected);
        // Nothing of a finished stream stays attached to the threads (a database of many ceremonies would pile them up).
        for (const slot of threads.slots) expect(slot.w.listenerCount("message")).toBe(0);
      }
    } finally {
      await threads.close();
    }
  });

  it("a thread that stopped is an error, never a verdict or a wait without end", async () => {
    const threads = startSignatureThreads(2);
    try {
      await threads.slots[1]!.w.terminate();
      const stream = signatureStream(2, 0, threads);
      for (const t of tasks([])) stream.add(t);
      await expect(stream.finish()).rejects.toThrow(/signature-checking thread stopped unexpectedly/);
    } finally {
      await threads.close();
    }
  });
});
