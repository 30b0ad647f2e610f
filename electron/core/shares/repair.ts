/**
 * Repairs tried against the checksum: every single wrong word, swap of two
 * neighbours, extra or missing word that yields a valid payload, so the
 * message can say which word is wrong.
 */
import { MAX_WORDS, MIN_WORDS, WORDS, keyOf, packWords, payloadFlaw, tagOf, writeWord, type Flaw } from "./payload";

type Fix =
  | { kind: "substitute"; pos: number; word: number; key: string; tag: string }
  | { kind: "swap"; pos: number; key: string; tag: string }
  | { kind: "delete"; pos: number; key: string; tag: string }
  | { kind: "insert"; pos: number; word: number; key: string; tag: string };

/** Every single-word substitution at the given positions that yields a valid payload. */
export function substitutionFixes(indices: readonly number[], at: Iterable<number>): Fix[] {
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

export function wordFixes(indices: number[], flaw: Flaw): Fix[] {
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

/** Keeps fixes that land in the expected ceremony when any does, and one fix per distinct result. */
export function narrow<T extends { key: string; tag: string }>(fixes: T[], expectedTag: string | undefined): T[] {
  const inCeremony = expectedTag === undefined ? [] : fixes.filter((f) => f.tag === expectedTag);
  const pool = inCeremony.length > 0 ? inCeremony : fixes;
  const seen = new Set<string>();
  return pool.filter((f) => (seen.has(f.key) ? false : (seen.add(f.key), true)));
}
