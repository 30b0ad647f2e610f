import { wordlist } from "@scure/bip39/wordlists/english.js";

/**
 * A hash as four words (44 bits), short enough to read aloud and to match a
 * video frame against a transcript entry. Not a security boundary: the full
 * hash is on the report.
 */
export function hashWords(hex: string, count = 4): string[] {
  const bits = BigInt(`0x${hex.slice(0, 16)}`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(wordlist[Number((bits >> BigInt(64 - 11 * (i + 1))) & 0x7ffn)]!);
  return out;
}
