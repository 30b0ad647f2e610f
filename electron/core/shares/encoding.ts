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
import { hash } from "node:crypto";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { CustosError } from "../errors";

export type DecodedShare = { index: number; ceremonyTag: string; share: Uint8Array };

const VERSION = 0x01;
const HEADER_BYTES = 7; // version + tag + index + length
const CHECKSUM_BYTES = 4;
const OVERHEAD_BYTES = HEADER_BYTES + CHECKSUM_BYTES;
const MIN_SHARE_BYTES = 2;
const MAX_SHARE_BYTES = 64;
const KEK_SHARE_BYTES = 33;
const BITS_PER_WORD = 11;
const WORDS = wordlist.length; // 2048
const MIN_WORDS = wordsForPayload(MIN_SHARE_BYTES + OVERHEAD_BYTES);
const MAX_WORDS = wordsForPayload(MAX_SHARE_BYTES + OVERHEAD_BYTES);
const LONGEST_WORD = Math.max(...wordlist.map((w) => w.length));
/** The longest share input read at all: a 64-byte share's words with numbering and spacing fit many times over. */
export const MAX_SHARE_INPUT = 2048;

const WORD_INDEX = new Map<string, number>(wordlist.map((w, i) => [w, i]));
// BIP39 English words are unique by their first four letters.
const PREFIX_INDEX = new Map<string, number>(wordlist.map((w, i) => [w.slice(0, 4), i]));

function wordsForPayload(payloadBytes: number): number {
  return Math.ceil((payloadBytes * 8) / BITS_PER_WORD);
}

function sha256(data: Uint8Array): Buffer {
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

function writeWord(buf: Uint8Array, word: number, value: number): void {
  const start = word * BITS_PER_WORD;
  for (let b = 0; b < BITS_PER_WORD; b++) {
    const pos = start + b;
    const byte = pos >> 3;
    const mask = 0x80 >> (pos & 7);
    const cur = buf[byte] ?? 0;
    buf[byte] = (value >> (BITS_PER_WORD - 1 - b)) & 1 ? cur | mask : cur & ~mask;
  }
}

function readWord(buf: Uint8Array, word: number): number {
  const start = word * BITS_PER_WORD;
  let v = 0;
  for (let b = 0; b < BITS_PER_WORD; b++) {
    const pos = start + b;
    v = (v << 1) | (((buf[pos >> 3] ?? 0) >> (7 - (pos & 7))) & 1);
  }
  return v;
}

/** Packs word indices into ceil(11n/8) bytes; bits past 11n stay zero. */
function packWords(indices: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((indices.length * BITS_PER_WORD) / 8));
  indices.forEach((v, i) => writeWord(out, i, v));
  return out;
}

// ---------------------------------------------------------------- payload

type Flaw = "version" | "length" | "checksum" | "index";

/**
 * What is wrong with a payload, or null. `words` is the word count for the
 * word form (buf then holds the packed bits, padding included); undefined for
 * the hex form (buf is exactly the payload).
 */
function payloadFlaw(buf: Uint8Array, words?: number, anyVersion = false): Flaw | null {
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

function tagOf(buf: Uint8Array): string {
  return Buffer.from(buf.subarray(1, 5)).toString("hex");
}

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

// ---------------------------------------------------------------- input

type Token = { text: string; index: number | undefined };

function lookupWord(token: string): number | undefined {
  const exact = WORD_INDEX.get(token);
  if (exact !== undefined) return exact;
  // Accept any abbreviation of at least four letters (the BIP39 convention),
  // since the four-letter prefix already names exactly one word.
  if (token.length >= 4) {
    const i = PREFIX_INDEX.get(token.slice(0, 4));
    if (i !== undefined && wordlist[i]!.startsWith(token)) return i;
  }
  return undefined;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const raw of text.normalize("NFKC").toLowerCase().split(/[\s,;]+/)) {
    // Card numbering: "1.", "12)", "3:" on its own or glued to the word.
    const t = trimToAlnum(trimToAlnum(raw).replace(/^\d+[.):]?/, ""));
    if (t === "") continue;
    out.push({ text: t, index: lookupWord(t) });
  }
  return out;
}

/**
 * Strips leading and trailing characters that are not letters or digits, in
 * one pass from each end: the regex /[^\p{L}\p{N}]+$/ it replaces rescanned the
 * rest of the token from every position (quadratic on "x-----…-----x").
 */
function trimToAlnum(t: string): string {
  const chars = Array.from(t);
  const alnum = (c: string) => /[\p{L}\p{N}]/u.test(c);
  let start = 0;
  let end = chars.length;
  while (start < end && !alnum(chars[start]!)) start++;
  while (end > start && !alnum(chars[end - 1]!)) end--;
  return chars.slice(start, end).join("");
}

/** Hex if it has a digit (word cards have none, numbering aside) and is all, or nearly all, hex digits. */
function looksLikeHex(compact: string): boolean {
  const s = compact.replace(/^0x/i, "");
  if (!/\d/.test(s)) return false;
  if (/^[0-9a-f]+$/i.test(s)) return true;
  // Hex with a stray character is still read as hex, so the message names the
  // character's position instead of echoing share material as a "word".
  const hexChars = (s.match(/[0-9a-f]/gi) ?? []).length;
  return s.length >= 24 && hexChars / s.length >= 0.9;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: a swap of two neighbouring letters costs 1.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function closeWords(token: string): string[] {
  // Nothing within two edits of a word list entry can be this long; skip the distance work.
  if (token.length > LONGEST_WORD + 2) {
    const i = PREFIX_INDEX.get(token.slice(0, 4));
    return i === undefined ? [] : [wordlist[i]!];
  }
  const scored: { w: string; score: number }[] = [];
  for (const w of wordlist) {
    const dist = editDistance(token, w);
    const samePrefix = token.length >= 4 && w.slice(0, 4) === token.slice(0, 4);
    if (dist <= 2 || samePrefix) scored.push({ w, score: samePrefix ? Math.min(dist, 1) - 0.5 : dist });
  }
  scored.sort((x, y) => x.score - y.score || x.w.localeCompare(y.w));
  return scored.slice(0, 3).map((s) => s.w);
}

function quoteList(words: string[]): string {
  const q = words.map((w) => `'${w}'`);
  return q.length <= 1 ? (q[0] ?? "") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

function positions(ps: number[]): string {
  return ps.length === 1 ? `${ps[0]}` : `${ps.slice(0, -1).join(", ")} and ${ps[ps.length - 1]}`;
}

/** Never echo a long token: it is probably pasted share material, not a word. */
function shown(token: string): string {
  return token.length <= LONGEST_WORD + 4 ? `'${token}'` : `(${token.length} characters long)`;
}

// ---------------------------------------------------------------- repair

type Fix =
  | { kind: "substitute"; pos: number; word: number; key: string; tag: string }
  | { kind: "swap"; pos: number; key: string; tag: string }
  | { kind: "delete"; pos: number; key: string; tag: string }
  | { kind: "insert"; pos: number; word: number; key: string; tag: string };

function keyOf(buf: Uint8Array): string {
  return Buffer.from(buf).toString("hex");
}

/** Every single-word substitution at the given positions that yields a valid payload. */
function substitutionFixes(indices: readonly number[], at: Iterable<number>): Fix[] {
  const n = indices.length;
  if (n < MIN_WORDS || n > MAX_WORDS) return [];
  const buf = packWords(indices);
  const fixes: Fix[] = [];
  for (const pos of at) {
    const orig = indices[pos]!;
    for (let w = 0; w < WORDS; w++) {
      if (w === orig) continue;
      writeWord(buf, pos, w);
      if (payloadFlaw(buf, n) === null) fixes.push({ kind: "substitute", pos, word: w, key: keyOf(buf), tag: tagOf(buf) });
    }
    writeWord(buf, pos, orig);
  }
  return fixes;
}

function wordFixes(indices: number[], flaw: Flaw): Fix[] {
  const n = indices.length;
  const fixes = substitutionFixes(indices, indices.keys());
  for (let pos = 0; pos + 1 < n; pos++) {
    if (indices[pos] === indices[pos + 1]) continue;
    const swapped = indices.slice();
    [swapped[pos], swapped[pos + 1]] = [indices[pos + 1]!, indices[pos]!];
    const buf = packWords(swapped);
    if (payloadFlaw(buf, n) === null) fixes.push({ kind: "swap", pos, key: keyOf(buf), tag: tagOf(buf) });
  }
  // A missing or extra word shifts every bit after it, which usually breaks
  // the length byte (or, near the start, the version byte); when it shifts a
  // plausible length into place only the checksum fails, so try it whenever
  // no substitution or swap explains the damage.
  if (flaw === "length" || flaw === "version" || fixes.length === 0) {
    if (n - 1 >= MIN_WORDS && n - 1 <= MAX_WORDS) {
      for (let pos = 0; pos < n; pos++) {
        const buf = packWords(indices.filter((_, i) => i !== pos));
        if (payloadFlaw(buf, n - 1) === null) fixes.push({ kind: "delete", pos, key: keyOf(buf), tag: tagOf(buf) });
      }
    }
    if (n + 1 >= MIN_WORDS && n + 1 <= MAX_WORDS) {
      for (let pos = 0; pos <= n; pos++) {
        const longer = [...indices.slice(0, pos), 0, ...indices.slice(pos)];
        const buf = packWords(longer);
        for (let w = 0; w < WORDS; w++) {
          writeWord(buf, pos, w);
          if (payloadFlaw(buf, n + 1) === null) fixes.push({ kind: "insert", pos, word: w, key: keyOf(buf), tag: tagOf(buf) });
        }
      }
    }
  }
  return fixes;
}

/**
 * A payload that is whole apart from its version byte really is another
 * version; otherwise the version byte is just the first damaged byte.
 */
function isOtherVersion(buf: Uint8Array, words?: number): boolean {
  return buf.length >= 1 && buf[0] !== VERSION && payloadFlaw(buf, words, true) === null;
}

/** Keeps fixes that land in the expected ceremony when any does, and one fix per distinct result. */
function narrow<T extends { key: string; tag: string }>(fixes: T[], expectedTag: string | undefined): T[] {
  const inCeremony = expectedTag === undefined ? [] : fixes.filter((f) => f.tag === expectedTag);
  const pool = inCeremony.length > 0 ? inCeremony : fixes;
  const seen = new Set<string>();
  return pool.filter((f) => (seen.has(f.key) ? false : (seen.add(f.key), true)));
}

// ---------------------------------------------------------------- decode

function expectedWordCount(buf: Uint8Array): number {
  const len = buf.length >= HEADER_BYTES ? buf[6]! : 0;
  return len >= MIN_SHARE_BYTES && len <= MAX_SHARE_BYTES ? wordsForPayload(len + OVERHEAD_BYTES) : shareWordCount();
}

function checkHint(): string {
  return "Compare each word with the share card, in order, and enter the share again.";
}

function decodeWords(tokens: Token[], expectedTag: string | undefined): Uint8Array {
  const unknown = tokens.flatMap((t, i) => (t.index === undefined ? [i] : []));
  if (unknown.length > 0) {
    const first = unknown[0]!;
    const typed = tokens[first]!.text;
    let suggestions: string[] = [];
    if (unknown.length === 1) {
      // One unknown word and everything else right: the checksum says which word belongs there.
      const indices = tokens.map((t) => t.index ?? 0);
      const fits = narrow(substitutionFixes(indices, [first]), expectedTag);
      const zero = payloadFlaw(packWords(indices), indices.length) === null ? [0] : [];
      const all = [...zero, ...fits.map((f) => (f.kind === "substitute" ? f.word : 0))];
      if (all.length === 1) suggestions = [wordlist[all[0]!]!];
    }
    if (suggestions.length === 0) suggestions = closeWords(typed);
    const others = unknown.slice(1).map((i) => i + 1);
    throw new CustosError(
      "SHARE_UNKNOWN_WORD",
      `Word ${first + 1}, ${shown(typed)}, is not in the word list` +
        (others.length > 0 ? `; word${others.length > 1 ? "s" : ""} ${positions(others)} ${others.length > 1 ? "are" : "is"} not in the list either` : "") +
        ".",
      "Share cards use the BIP39 English word list; check the spelling against the card.",
      // A suggestion can be a word of the share itself: it goes to the screen only
      // (details), never into a message that could reach a log or a terminal.
      { details: suggestions.length > 0 ? { suggestion: `did you mean ${quoteList(suggestions)}?` } : {} },
    );
  }

  const indices = tokens.map((t) => t.index!);
  const n = indices.length;
  const buf = packWords(indices);
  const flaw = payloadFlaw(buf, n);
  if (flaw === null) return buf.subarray(0, buf[6]! + OVERHEAD_BYTES);

  const fixes = narrow(wordFixes(indices, flaw), expectedTag);
  const expected = expectedWordCount(buf);
  if (fixes.length === 1) {
    const fix = fixes[0]!;
    switch (fix.kind) {
      case "substitute":
        throw new CustosError(
          "SHARE_CHECKSUM",
          `Word ${fix.pos + 1}, '${tokens[fix.pos]!.text}', appears to be wrong.`,
          "Check that word against the share card and enter the share again.",
          { details: { suggestion: `did you mean '${wordlist[fix.word]}'?` } },
        );
      case "swap":
        throw new CustosError(
          "SHARE_CHECKSUM",
          `Words ${fix.pos + 1} and ${fix.pos + 2} appear to be in the wrong order.`,
          "Check the order of those two words against the share card.",
        );
      case "delete":
        throw new CustosError(
          "SHARE_WORD_COUNT",
          `The share has ${n} words; expected ${n - 1}. Word ${fix.pos + 1}, '${tokens[fix.pos]!.text}', appears to be extra.`,
          "Check the words around it against the share card.",
        );
      case "insert":
        throw new CustosError(
          "SHARE_WORD_COUNT",
          `The share has ${n} words; expected ${n + 1}. ` +
            (fix.pos === 0 ? "The first word" : `A word after word ${fix.pos}`) +
            " appears to be missing.",
          "Check the words around it against the share card.",
          { details: { suggestion: `did you mean '${wordlist[fix.word]}'?` } },
        );
    }
  }
  if (fixes.length > 1 && fixes.every((f) => f.kind === "substitute")) {
    const ps = [...new Set(fixes.map((f) => f.pos + 1))];
    throw new CustosError(
      "SHARE_CHECKSUM",
      ps.length === 1
        ? `Word ${ps[0]}, '${tokens[ps[0]! - 1]!.text}', appears to be wrong.`
        : `The share does not match its checksum: one of words ${positions(ps).replace(/ and /, " or ")} appears to be wrong.`,
      checkHint(),
    );
  }
  if (flaw === "version" && isOtherVersion(buf, n)) {
    throw new CustosError(
      "SHARE_VERSION",
      `This share is in format version ${buf[0]}; this program reads version ${VERSION}.`,
      "Read it with the newer Custos release that made it.",
    );
  }
  const standard = n === shareWordCount();
  switch (flaw) {
    case "version":
      // Bits 0-7 (the version byte) lie in word 1.
      throw new CustosError(
        "SHARE_CHECKSUM",
        "The share does not match its checksum: it was mistyped in more than one place, and word 1 appears to be one of them.",
        checkHint(),
      );
    case "length":
      // With a card's usual word count, a wrong length byte (bits 48-55, in
      // words 5 and 6) means typing mistakes, not a missing or extra word.
      if (standard && expected !== n) {
        throw new CustosError(
          "SHARE_CHECKSUM",
          "The share does not match its checksum: it was mistyped in more than one place, and word 5 or 6 appears to be one of them.",
          checkHint(),
        );
      }
      throw new CustosError("SHARE_WORD_COUNT", `The share has ${n} words; expected ${expected}.`, checkHint());
    case "index":
      throw new CustosError("SHARE_FORMAT", "The share card says share 0, which Custos never writes.", "The card was not made by Custos.");
    case "checksum":
      throw new CustosError(
        "SHARE_CHECKSUM",
        "The share does not match its checksum: it was mistyped in more than one place.",
        checkHint(),
      );
  }
}

function decodeHex(compact: string, expectedTag: string | undefined): Uint8Array {
  const s = compact.replace(/^0x/i, "");
  const bad = s.search(/[^0-9a-f]/i);
  if (bad >= 0) {
    throw new CustosError(
      "SHARE_FORMAT",
      `Character ${bad + 1} of the hex form is not a hex digit.`,
      "The hex form uses only 0-9 and a-f; enter it again, or type the words instead.",
    );
  }
  if (s.length % 2 !== 0) {
    throw new CustosError(
      "SHARE_FORMAT",
      `The hex form has an odd number of characters (${s.length}); one is missing or extra.`,
      "Enter it again, or type the words instead.",
    );
  }
  const buf = new Uint8Array(Buffer.from(s, "hex"));
  const flaw = payloadFlaw(buf);
  if (flaw === null) return buf;

  // One wrong hex digit: try all 15 alternatives at each position (cheap).
  const fixes: { pos: number; key: string; tag: string }[] = [];
  for (let pos = 0; pos < s.length; pos++) {
    const byte = pos >> 1;
    const orig = buf[byte]!;
    const shift = pos & 1 ? 0 : 4;
    for (let d = 0; d < 16; d++) {
      if (d === ((orig >> shift) & 0xf)) continue;
      buf[byte] = (orig & ~(0xf << shift)) | (d << shift);
      if (payloadFlaw(buf) === null) fixes.push({ pos, key: keyOf(buf), tag: tagOf(buf) });
    }
    buf[byte] = orig;
  }
  const narrowed = narrow(fixes, expectedTag);
  const ps = [...new Set(narrowed.map((f) => f.pos + 1))];
  if (ps.length === 1) {
    throw new CustosError(
      "SHARE_CHECKSUM",
      `The hex form is damaged: character ${ps[0]} appears to be wrong.`,
      "Scan the QR code again, or type the words instead.",
    );
  }
  if (flaw === "version" && isOtherVersion(buf)) {
    throw new CustosError(
      "SHARE_VERSION",
      `This share is in format version ${buf[0]}; this program reads version ${VERSION}.`,
      "Read it with the newer Custos release that made it.",
    );
  }
  const standardChars = (KEK_SHARE_BYTES + OVERHEAD_BYTES) * 2;
  switch (flaw) {
    case "version":
    case "length": {
      const len = buf.length >= HEADER_BYTES ? buf[6]! : 0;
      const fromLength = flaw === "length" && len >= MIN_SHARE_BYTES && len <= MAX_SHARE_BYTES;
      const want = fromLength ? (len + OVERHEAD_BYTES) * 2 : standardChars;
      if (s.length === standardChars || want === s.length) {
        throw new CustosError(
          "SHARE_CHECKSUM",
          "The hex form is damaged (its header does not read as a Custos share).",
          "Scan the QR code again, or type the words instead.",
        );
      }
      throw new CustosError(
        "SHARE_FORMAT",
        `The hex form has ${s.length} characters; expected ${want}.`,
        "Part of it is missing or extra; scan the QR code again, or type the words instead.",
      );
    }
    case "index":
      throw new CustosError("SHARE_FORMAT", "The share says share 0, which Custos never writes.", "The share was not made by Custos.");
    case "checksum":
      throw new CustosError(
        "SHARE_CHECKSUM",
        "The hex form is damaged (it does not match its checksum).",
        "Scan the QR code again, or type the words instead.",
      );
  }
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
