/**
 * Key-encryption-key helpers: the key check value recorded in the transcript
 * (so a recovered KEK can be recognised without ever storing it), zeroizing of
 * secret buffers, and the mixing of two independent entropy sources.
 */
import { createCipheriv } from "node:crypto";
import { CustosError } from "../errors";

const KEK_BYTES = 32;

function requireKekLength(buf: Uint8Array, what: string): void {
  if (!(buf instanceof Uint8Array) || buf.length !== KEK_BYTES) {
    const got = buf instanceof Uint8Array ? `${buf.length} bytes` : "no bytes";
    throw new CustosError(
      "KEK_LENGTH",
      `The ${what} must be ${KEK_BYTES} bytes (AES-256); got ${got}.`,
      "This is a programming or configuration error; the ceremony cannot continue with this key.",
    );
  }
}

/** The HSM convention for recognising a key without revealing it: first 3 bytes of AES-256-ECB(kek, zero block), upper-case hex. */
export function kcv(kek: Uint8Array): string {
  requireKekLength(kek, "key-encryption key");
  const cipher = createCipheriv("aes-256-ecb", kek, null);
  cipher.setAutoPadding(false);
  const block = Buffer.concat([cipher.update(Buffer.alloc(16)), cipher.final()]);
  return block.subarray(0, 3).toString("hex").toUpperCase();
}

/** Overwrites secret buffers with zeros so key material does not linger in memory after use. */
export function zeroize(...bufs: (Uint8Array | null | undefined)[]): void {
  for (const buf of bufs) buf?.fill(0);
}

/** XORs two 32-byte random buffers so the KEK stays secret unless both sources (HSM RNG and OS CSPRNG) fail. */
export function mixEntropy(a: Uint8Array, b: Uint8Array): Uint8Array {
  requireKekLength(a, "first entropy input");
  requireKekLength(b, "second entropy input");
  // An all-zero block from a random source means the source is broken;
  // equal inputs would cancel out to zero. Either way, stop the ceremony.
  if (a.every((x) => x === 0) || b.every((x) => x === 0)) {
    throw new CustosError(
      "KEK_ENTROPY",
      `The ${a.every((x) => x === 0) ? "first" : "second"} entropy source returned only zero bytes.`,
      "A random number generator is not working; stop and check the HSM and the host before making a key.",
    );
  }
  const out = new Uint8Array(KEK_BYTES);
  for (let i = 0; i < KEK_BYTES; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  if (out.every((x) => x === 0)) {
    throw new CustosError(
      "KEK_ENTROPY",
      "Both entropy sources returned the same bytes.",
      "The two random number generators are not independent; stop and check the HSM and the host before making a key.",
    );
  }
  return out;
}
