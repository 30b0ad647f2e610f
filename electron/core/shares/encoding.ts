/**
 * Share cards: a share as words (typed back in by a person, perhaps years
 * later) or as hex (QR code, rehearsal `shares/*.txt`).
 *
 * Payload layout, version 1 (B = L + 11 bytes in total):
 *
 *   offset  size  field
 *   0       1     version, 0x01
 *   1       4     ceremony tag: SHA-256(utf8 ceremony id)[0..4]
 *   5       1     share index i (1..255: "share i of N", the custodian's number)
 *   6       1     share length L (2..64)
 *   7       L     share bytes (33 for a 32-byte KEK share: 32 y-bytes + x byte)
 *   7+L     4     checksum: SHA-256(bytes 0 .. 7+L-1)[0..4]
 *
 * Hex form: the B payload bytes as lower-case hex (88 characters for a KEK share).
 *
 * Word form: the payload bits, most significant bit of byte 0 first, cut into
 * 11-bit groups, each group an index into the BIP39 English word list. The last
 * group is padded with zero bits. Word count = ceil(8 * B / 11): 32 words with
 * no padding for a KEK share (44 bytes = 352 bits).
 *
 * Every mistake is named: an unknown word by position with suggestions; a
 * wrong word, two swapped words, a missing or extra word by position (found by
 * trying every single correction against the 32-bit checksum); a share from
 * another ceremony by its tag. Error messages never contain share material,
 * except the one word the person typed wrong and the single word that the
 * checksum says belongs there.
 */
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { CustosError } from "../errors";
import { decodeHex } from "./decode-hex";
import { decodeWords } from "./decode-words";
import { BITS_PER_WORD, CHECKSUM_BYTES, HEADER_BYTES, MAX_SHARE_BYTES, MIN_SHARE_BYTES, OVERHEAD_BYTES, VERSION, ceremonyTag, readWord, sha256, tagOf, wordsForPayload } from "./payload";
import { looksLikeHex, tokenize } from "./word-input";

export { ceremonyTag, shareWordCount } from "./payload";

export type DecodedShare = { index: number; ceremonyTag: string; share: Uint8Array };

/** The longest share input read at all: a 64-byte share's words with numbering and spacing fit many times over. */
export const MAX_SHARE_INPUT = 2048;

/** Encodes a share for a card: words to type, hex for the QR code and rehearsal files. */
export function encodeShare(p: { ceremonyId: string; index: number; share: Uint8Array }): { words: string[]; hex: string } {
  const tag = ceremonyTag(p.ceremonyId);
  if (!Number.isInteger(p.index) || p.index < 1 || p.index > 255) {
    throw new CustosError("SHARE_PARAMS", `The share index must be a whole number from 1 to 255; got ${String(p.index)}.`);
  }
  if (!(p.share instanceof Uint8Array) || p.share.length < MIN_SHARE_BYTES || p.share.length > MAX_SHARE_BYTES) {
    const got = p.share instanceof Uint8Array ? `${p.share.length} bytes` : "no bytes";
    throw new CustosError("SHARE_PARAMS", `A share must be ${MIN_SHARE_BYTES} to ${MAX_SHARE_BYTES} bytes; got ${got}.`);
  }
  const len = p.share.length;
  const total = len + OVERHEAD_BYTES;
  const payload = new Uint8Array(total);
  payload[0] = VERSION;
  payload.set(Buffer.from(tag, "hex"), 1);
  payload[5] = p.index;
  payload[6] = len;
  payload.set(p.share, HEADER_BYTES);
  payload.set(sha256(payload.subarray(0, total - CHECKSUM_BYTES)).subarray(0, CHECKSUM_BYTES), total - CHECKSUM_BYTES);

  const count = wordsForPayload(total);
  const bits = new Uint8Array(Math.ceil((count * BITS_PER_WORD) / 8));
  bits.set(payload);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(wordlist[readWord(bits, i)]!);
  const hex = Buffer.from(payload).toString("hex");
  payload.fill(0);
  bits.fill(0);
  return { words, hex };
}

/** Reads a share typed from a card (words) or scanned (hex), naming any mistake so the custodian can fix it. */
export function decodeShare(text: string, expect?: { ceremonyId?: string }): DecodedShare {
  const expectedTag = expect?.ceremonyId !== undefined ? ceremonyTag(expect.ceremonyId) : undefined;
  const input = typeof text === "string" ? text : "";
  if (input.length > MAX_SHARE_INPUT) {
    throw new CustosError("SHARE_FORMAT", `The share entered is ${input.length} characters long; a share card has far fewer.`, "Type the words from one share card, or scan its QR code.");
  }
  const compact = input.replace(/\s+/g, "");
  const hex = looksLikeHex(compact);
  const tokens = hex ? [] : tokenize(input);
  if (!hex && tokens.length === 0) {
    throw new CustosError("SHARE_FORMAT", "No share was entered.", "Type the words from the share card, or scan its QR code.");
  }
  const payload = hex ? decodeHex(compact, expectedTag) : decodeWords(tokens, expectedTag);
  const tag = tagOf(payload);
  if (expectedTag !== undefined && tag !== expectedTag) {
    throw new CustosError(
      "SHARE_FOREIGN",
      `This share belongs to another ceremony (tag ${tag}, expected ${expectedTag}).`,
      "Check the ceremony id printed on the share card; the custodian may have brought a card from another ceremony.",
    );
  }
  const len = payload[6]!;
  const share = payload.slice(HEADER_BYTES, HEADER_BYTES + len);
  const result: DecodedShare = { index: payload[5]!, ceremonyTag: tag, share };
  payload.fill(0);
  return result;
}