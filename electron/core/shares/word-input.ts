/**
 * Reading what a custodian typed: tokens looked up in the BIP39 English word
 * list (numbering and punctuation stripped, four-letter abbreviations
 * accepted), whether it is the hex form instead, close words to suggest, and
 * the wording of positions and tokens in messages (never share material).
 */
import { wordlist } from "@scure/bip39/wordlists/english.js";

export const LONGEST_WORD = Math.max(...wordlist.map((w) => w.length));

const WORD_INDEX = new Map<string, number>(wordlist.map((w, i) => [w, i]));
// BIP39 English words are unique by their first four letters.
const PREFIX_INDEX = new Map<string, number>(wordlist.map((w, i) => [w.slice(0, 4), i]));

export type Token = { text: string; index: number | undefined };

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

export function tokenize(text: string): Token[] {
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
export function looksLikeHex(compact: string): boolean {
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

export function closeWords(token: string): string[] {
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

export function quoteList(words: string[]): string {
  const q = words.map((w) => `'${w}'`);
  return q.length <= 1 ? (q[0] ?? "") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

export function positions(ps: number[]): string {
  return ps.length === 1 ? `${ps[0]}` : `${ps.slice(0, -1).join(", ")} and ${ps[ps.length - 1]}`;
}

/** Never echo a long token: it is probably pasted share material, not a word. */
export function shown(token: string): string {
  return token.length <= LONGEST_WORD + 4 ? `'${token}'` : `(${token.length} characters long)`;
}
