/**
 * The word form read back: a payload, or an error that names the mistake
 * (an unknown word, a wrong, swapped, extra or missing word, another format
 * version) by its position.
 */
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { CustosError } from "../errors";
import { HEADER_BYTES, MAX_SHARE_BYTES, MIN_SHARE_BYTES, OVERHEAD_BYTES, isOtherVersion, otherVersionError, packWords, payloadFlaw, shareWordCount, wordsForPayload } from "./payload";
import { narrow, substitutionFixes, wordFixes } from "./repair";
import { closeWords, positions, quoteList, shown, type Token } from "./word-input";

function expectedWordCount(buf: Uint8Array): number {
  const len = buf.length >= HEADER_BYTES ? buf[6]! : 0;
  return len >= MIN_SHARE_BYTES && len <= MAX_SHARE_BYTES ? wordsForPayload(len + OVERHEAD_BYTES) : shareWordCount();
}

function checkHint(): string {
  return "Compare each word with the share card, in order, and enter the share again.";
}

export function decodeWords(tokens: Token[], expectedTag: string | undefined): Uint8Array {
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
    throw otherVersionError(buf[0]);
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
