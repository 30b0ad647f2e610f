/**
 * The share payload of a card (layout in encoding.ts): its constants, the
 * ceremony tag, the 11-bit word groups it is cut into, and what is wrong
 * with a payload that does not check.
 */
import { hash } from "node:crypto";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { CustosError } from "../errors";

export const VERSION = 0x01;
export const HEADER_BYTES = 7; // version + tag + index + length
export const CHECKSUM_BYTES = 4;
export const OVERHEAD_BYTES = HEADER_BYTES + CHECKSUM_BYTES;
export const MIN_SHARE_BYTES = 2;
export const MAX_SHARE_BYTES = 64;
export const KEK_SHARE_BYTES = 33;
export const BITS_PER_WORD = 11;
export const WORDS = wordlist.length; // 2048
export const MIN_WORDS = wordsForPayload(MIN_SHARE_BYTES + OVERHEAD_BYTES);
export const MAX_WORDS = wordsForPayload(MAX_SHARE_BYTES + OVERHEAD_BYTES);

export function wordsForPayload(payloadBytes: number): number {
  return Math.ceil((payloadBytes * 8) / BITS_PER_WORD);
}

export function sha256(data: Uint8Array): Buffer {
  return hash("sha256", data, "buffer");
}

/** Identifies the ceremony a share belongs to without printing the whole id: first 4 bytes of SHA-256(id), hex. */
export function ceremonyTag(ceremonyId: string): string {
  if (typeof ceremonyId !== "string" || ceremonyId.length === 0) {
    throw new CustosError("SHARE_PARAMS", "The ceremony id must be a non-empty string.");
  }
  return sha256(Buffer.from(ceremonyId, "utf8")).subarray(0, 4).toString("hex");
}

/** How many words a card holds for a share of this many bytes, so the UI can say "enter 32 words". */
export function shareWordCount(shareLength: number = KEK_SHARE_BYTES): number {
  if (!Number.isInteger(shareLength) || shareLength < MIN_SHARE_BYTES || shareLength > MAX_SHARE_BYTES) {
    throw new CustosError("SHARE_PARAMS", `A share must be ${MIN_SHARE_BYTES} to ${MAX_SHARE_BYTES} bytes; got ${String(shareLength)}.`);
  }
  return wordsForPayload(shareLength + OVERHEAD_BYTES);
}

// ---------------------------------------------------------------- bits

export function writeWord(buf: Uint8Array, word: number, value: number): void {
  const start = word * BITS_PER_WORD;
  for (let b = 0; b < BITS_PER_WORD; b++) {
    const pos = start + b;
    const byte = pos >> 3;
    const mask = 0x80 >> (pos & 7);
    const cur = buf[byte] ?? 0;
    buf[byte] = (value >> (BITS_PER_WORD - 1 - b)) & 1 ? cur | mask : cur & ~mask;
  }
}

export function readWord(buf: Uint8Array, word: number): number {
  const start = word * BITS_PER_WORD;
  let v = 0;
  for (let b = 0; b < BITS_PER_WORD; b++) {
    const pos = start + b;
    v = (v << 1) | (((buf[pos >> 3] ?? 0) >> (7 - (pos & 7))) & 1);
  }
  return v;
}

/** Packs word indices into ceil(11n/8) bytes; bits past 11n stay zero. */
export function packWords(indices: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((indices.length * BITS_PER_WORD) / 8));
  indices.forEach((v, i) => writeWord(out, i, v));
  return out;
}

// ---------------------------------------------------------------- payload

export type Flaw = "version" | "length" | "checksum" | "index";

/**
 * What is wrong with a payload, or null. `words` is the word count for the
 * word form (buf then holds the packed bits, padding included); undefined for
 * the hex form (buf is exactly the payload).
 */
export function payloadFlaw(buf: Uint8Array, words?: number, anyVersion = false): Flaw | null {
  if (buf.length < HEADER_BYTES) return "length";
  if (buf[0] !== VERSION && !anyVersion) return "version";
  const len = buf[6]!;
  if (len < MIN_SHARE_BYTES || len > MAX_SHARE_BYTES) return "length";
  const total = len + OVERHEAD_BYTES;
  if (words === undefined) {
    if (buf.length !== total) return "length";
  } else {
    if (wordsForPayload(total) !== words) return "length";
    for (let i = total; i < buf.length; i++) if (buf[i] !== 0) return "checksum"; // padding must be zero
  }
  const sum = sha256(buf.subarray(0, total - CHECKSUM_BYTES));
  for (let i = 0; i < CHECKSUM_BYTES; i++) if (sum[i] !== buf[total - CHECKSUM_BYTES + i]) return "checksum";
  if (buf[5] === 0) return "index";
  return null;
}

export function tagOf(buf: Uint8Array): string {
  return Buffer.from(buf.subarray(1, 5)).toString("hex");
}

/**
 * A payload that is whole apart from its version byte really is another
 * version; otherwise the version byte is just the first damaged byte.
 */
export function isOtherVersion(buf: Uint8Array, words?: number): boolean {
  return buf.length >= 1 && buf[0] !== VERSION && payloadFlaw(buf, words, true) === null;
}

/** The refusal of a payload that is whole but in another format version. */
export function otherVersionError(version: number | undefined): CustosError {
  return new CustosError("SHARE_VERSION", `This share is in format version ${version}; this program reads version ${VERSION}.`, "Read it with the newer Custos release that made it.");
}

export function keyOf(buf: Uint8Array): string {
  return Buffer.from(buf).toString("hex");
}
