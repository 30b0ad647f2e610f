import { createHash, randomBytes } from "node:crypto";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CustosError } from "../../electron/core/errors";
import { ceremonyTag, decodeShare, encodeShare, shareWordCount, splitSecret } from "../../electron/core/shares";

const ID = "root-ca-2025-06-01";

/** A 33-byte share as the library makes it for a 32-byte KEK. */
function kekShare(): Uint8Array {
  const s = new Uint8Array(randomBytes(33));
  s[32] = 1 + (s[32]! % 255);
  return s;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function decodeError(text: string, want?: { ceremonyId?: string }): CustosError {
  try {
    decodeShare(text, want);
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return e as CustosError;
  }
  throw new Error("expected decodeShare to throw");
}

/** A list word different from `w`. */
function otherWord(w: string, seed = 0): string {
  const i = (wordlist.indexOf(w) + 1 + (seed % 2047)) % 2048;
  return wordlist[i]!;
}

/** The quoted words in a message, to check nothing of the share leaks beyond what is allowed. */
function quoted(message: string): string[] {
  return [...message.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

/** A payload with a valid checksum but any version byte. */
function payloadWithVersion(version: number, share: Uint8Array): string {
  const body = Buffer.concat([
    Buffer.from([version]),
    Buffer.from(ceremonyTag(ID), "hex"),
    Buffer.from([1, share.length]),
    share,
  ]);
  return hex(Buffer.concat([body, createHash("sha256").update(body).digest().subarray(0, 4)]));
}

function hexToWords(h: string): string[] {
  const bytes = Buffer.from(h, "hex");
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, "0")).join("");
  const n = Math.ceil(bits.length / 11);
  const padded = bits.padEnd(n * 11, "0");
  return Array.from({ length: n }, (_, i) => wordlist[parseInt(padded.slice(i * 11, i * 11 + 11), 2)]!);
}

describe("ceremonyTag", () => {
  it("is the first 4 bytes of SHA-256 of the id, as 8 hex characters", () => {
    expect(ceremonyTag(ID)).toBe(createHash("sha256").update(ID, "utf8").digest("hex").slice(0, 8));
    expect(ceremonyTag("x")).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe("encodeShare / decodeShare", () => {
  it("encodes a KEK share as 32 words and 88 hex characters with the documented layout", () => {
    const share = kekShare();
    const { words, hex: h } = encodeShare({ ceremonyId: ID, index: 3, share });
    expect(words).toHaveLength(32);
    expect(shareWordCount()).toBe(32);
    expect(shareWordCount(33)).toBe(32);
    expect(h).toMatch(/^[0-9a-f]{88}$/);
    expect(h.slice(0, 2)).toBe("01");
    expect(h.slice(2, 10)).toBe(ceremonyTag(ID));
    expect(h.slice(10, 12)).toBe("03");
    expect(h.slice(12, 14)).toBe("21");
    expect(h.slice(14, 80)).toBe(hex(share));
    const sum = createHash("sha256").update(Buffer.from(h.slice(0, 80), "hex")).digest("hex").slice(0, 8);
    expect(h.slice(80)).toBe(sum);
    expect(words).toEqual(hexToWords(h));
  });

  it("round-trips words and hex, checking the ceremony", () => {
    const share = kekShare();
    const card = encodeShare({ ceremonyId: ID, index: 7, share });
    const grouped = card.hex.match(/.{1,8}/g)!.join(" ");
    for (const text of [card.words.join(" "), card.hex, card.hex.toUpperCase(), `0x${card.hex}`, grouped, `${card.hex}\n`]) {
      const d = decodeShare(text, { ceremonyId: ID });
      expect(d).toEqual({ index: 7, ceremonyTag: ceremonyTag(ID), share });
    }
    expect(decodeShare(card.words.join(" ")).index).toBe(7);
  });

  it("tolerates card numbering, commas, newlines, upper case and 4-letter abbreviations", () => {
    const share = kekShare();
    const { words } = encodeShare({ ceremonyId: ID, index: 1, share });
    const forms = [
      words.map((w, i) => `${i + 1}. ${w}`).join(" "),
      words.map((w, i) => `${i + 1}.${w.toUpperCase()}`).join("\n"),
      words.join(", "),
      words.map((w, i) => `${String(i + 1).padStart(2, "0")}) ${w}`).join("\n  "),
      words.map((w) => (w.length > 4 ? w.slice(0, 4) : w)).join("\t"),
      `  ${words.join("  \n\n ")}  `,
      words.map((w, i) => `#${i + 1} ${w}.`).join(" "),
      words.map((w, i) => `(${i + 1}) '${w}'`).join(" "),
    ];
    for (const text of forms) expect(hex(decodeShare(text, { ceremonyId: ID }).share)).toBe(hex(share));
  });

  it("names a changed word by position and suggests the right one", () => {
    const { words } = encodeShare({ ceremonyId: ID, index: 2, share: kekShare() });
    const typed = words.slice();
    typed[11] = otherWord(words[11]!, 500);
    const e = decodeError(typed.join(" "), { ceremonyId: ID });
    expect(e.code).toBe("SHARE_CHECKSUM");
    expect(e.message).toBe(`Word 12, '${typed[11]}', appears to be wrong.`);
    // The correct word is a piece of the share: on screen only, never in the message.
    expect(e.message).not.toContain(words[11]!);
    expect(e.details.suggestion).toBe(`did you mean '${words[11]}'?`);
  });

  it("names a word that is not in the list and suggests the closest list words", () => {
    const { words } = encodeShare({ ceremonyId: ID, index: 2, share: kekShare() });
    // One unknown word: the checksum pins the right word.
    const typed = words.slice();
    typed[6] = `${words[6]!}x`;
    const one = decodeError(typed.join(" "));
    expect(one.code).toBe("SHARE_UNKNOWN_WORD");
    expect(one.message).toBe(`Word 7, '${typed[6]}', is not in the word list.`);
    expect(one.details.suggestion).toBe(`did you mean '${words[6]}'?`);
    // Two unknown words: suggestions come from spelling alone, and only the first is quoted.
    typed[6] = "appel";
    typed[20] = "zzzzzzz";
    const two = decodeError(typed.join(" "));
    expect(two.code).toBe("SHARE_UNKNOWN_WORD");
    expect(two.message).toMatch(/^Word 7, 'appel', is not in the word list/);
    expect(String(two.details.suggestion)).toMatch(/'apple'/);
    expect(two.message).toContain("word 21 is not in the list either");
    expect(two.message).not.toContain("zzzzzzz");
  });

  it("names two swapped words, a missing word and an extra word", () => {
    const { words } = encodeShare({ ceremonyId: ID, index: 9, share: kekShare() });
    let i = 14;
    while (words[i] === words[i + 1]) i++;
    const swapped = words.slice();
    [swapped[i], swapped[i + 1]] = [words[i + 1]!, words[i]!];
    const s = decodeError(swapped.join(" "));
    expect(s.code).toBe("SHARE_CHECKSUM");
    expect(s.message).toBe(`Words ${i + 1} and ${i + 2} appear to be in the wrong order.`);

    const missing = decodeError(words.filter((_, j) => j !== 20).join(" "));
    expect(missing.code).toBe("SHARE_WORD_COUNT");
    expect(missing.message).toContain("has 31 words; expected 32");
    expect(missing.message).toMatch(/A word after word (19|20) appears to be missing/);

    const extra = [...words.slice(0, 10), "zoo", ...words.slice(10)];
    const x = decodeError(extra.join(" "));
    expect(x.code).toBe("SHARE_WORD_COUNT");
    expect(x.message).toContain("has 33 words; expected 32");
    expect(x.message).toMatch(/Word (10|11), '[a-z]+', appears to be extra/);
  });

  it("reports a wrong word count with expected vs got", () => {
    const { words } = encodeShare({ ceremonyId: ID, index: 9, share: kekShare() });
    const e = decodeError(words.slice(0, 24).join(" "));
    expect(e.code).toBe("SHARE_WORD_COUNT");
    expect(e.message).toBe("The share has 24 words; expected 32.");
    expect(decodeError("abandon ability able").code).toBe("SHARE_WORD_COUNT");
  });

  it("says so when a share was mistyped in more than one place", () => {
    const { words } = encodeShare({ ceremonyId: ID, index: 9, share: kekShare() });
    const typed = words.slice();
    typed[3] = otherWord(words[3]!, 1);
    typed[17] = otherWord(words[17]!, 2);
    const e = decodeError(typed.join(" "));
    expect(e.code).toBe("SHARE_CHECKSUM");
    expect(e.message).toContain("more than one place");
    expect(quoted(e.message)).toEqual([]);
    // Damage that reaches the version byte (word 1) or the length byte (words 5-6)
    // is still reported as mistyping, not as a foreign format or a word count.
    for (const [a, b, hint] of [
      [0, 20, "word 1"],
      [4, 20, "word 5 or 6"],
    ] as const) {
      const t = words.slice();
      t[a] = otherWord(words[a]!, 7);
      t[b] = otherWord(words[b]!, 9);
      const err = decodeError(t.join(" "));
      expect(err.code).toBe("SHARE_CHECKSUM");
      expect(err.message).toContain("more than one place");
      expect(err.message).toContain(hint);
    }
  });

  it("names a share from another ceremony by its tag", () => {
    const card = encodeShare({ ceremonyId: "another-ceremony", index: 2, share: kekShare() });
    for (const text of [card.words.join(" "), card.hex]) {
      const e = decodeError(text, { ceremonyId: ID });
      expect(e.code).toBe("SHARE_FOREIGN");
      expect(e.message).toBe(
        `This share belongs to another ceremony (tag ${ceremonyTag("another-ceremony")}, expected ${ceremonyTag(ID)}).`,
      );
    }
  });

  it("detects a changed hex character and names its position without echoing the hex", () => {
    const { hex: h } = encodeShare({ ceremonyId: ID, index: 2, share: kekShare() });
    for (const pos of [0, 9, 30, 87]) {
      const bad = h.slice(0, pos) + ((parseInt(h[pos]!, 16) + 5) % 16).toString(16) + h.slice(pos + 1);
      const e = decodeError(bad, { ceremonyId: ID });
      expect(e.code).toBe("SHARE_CHECKSUM");
      expect(e.message).toBe(`The hex form is damaged: character ${pos + 1} appears to be wrong.`);
    }
    const changedByte = h.slice(0, 40) + (((parseInt(h.slice(40, 42), 16) ^ 0xff) >>> 0).toString(16).padStart(2, "0")) + h.slice(42);
    const e = decodeError(changedByte);
    expect(e.code).toBe("SHARE_CHECKSUM");
    expect(e.message).toContain("hex form is damaged");
    const odd = decodeError(h.slice(0, 87));
    expect(odd.code).toBe("SHARE_FORMAT");
    const stray = decodeError(`${h.slice(0, 40)}g${h.slice(41)}`);
    expect(stray.code).toBe("SHARE_FORMAT");
    expect(stray.message).toBe("Character 41 of the hex form is not a hex digit.");
    const short = decodeError(h.slice(0, 80));
    expect(short.code).toBe("SHARE_FORMAT");
    expect(short.message).toContain("expected 88");
    for (const err of [e, odd, stray, short]) expect(err.message).not.toMatch(/[0-9a-f]{8}/);
  });

  it("refuses an unknown format version, in words and in hex", () => {
    const h = payloadWithVersion(2, kekShare());
    const fromHex = decodeError(h);
    expect(fromHex.code).toBe("SHARE_VERSION");
    expect(fromHex.message).toContain("version 2");
    const fromWords = decodeError(hexToWords(h).join(" "));
    expect(fromWords.code).toBe("SHARE_VERSION");
    expect(decodeShare(payloadWithVersion(1, Buffer.from("abcd"))).share).toEqual(new Uint8Array(Buffer.from("abcd")));
  });

  it("refuses empty input and bad encode parameters", () => {
    expect(decodeError("  \n ").code).toBe("SHARE_FORMAT");
    const bad = [
      { ceremonyId: ID, index: 0, share: kekShare() },
      { ceremonyId: ID, index: 256, share: kekShare() },
      { ceremonyId: ID, index: 1.5, share: kekShare() },
      { ceremonyId: ID, index: 1, share: new Uint8Array(1) },
      { ceremonyId: ID, index: 1, share: new Uint8Array(65) },
      { ceremonyId: "", index: 1, share: kekShare() },
    ];
    for (const p of bad) {
      expect(() => encodeShare(p)).toThrow(CustosError);
    }
  });

  it("works on shares straight from the splitter", async () => {
    const shares = await splitSecret(new Uint8Array(randomBytes(32)), 5, 3);
    shares.forEach((share, i) => {
      const card = encodeShare({ ceremonyId: ID, index: i + 1, share });
      expect(decodeShare(card.hex, { ceremonyId: ID }).share).toEqual(share);
    });
  });
});

describe("share encoding properties", () => {
  const anyShare = fc.uint8Array({ minLength: 2, maxLength: 64 });
  const anyId = fc.string({ minLength: 1, maxLength: 40, unit: "binary" });
  const anyIndex = fc.integer({ min: 1, max: 255 });

  it("encode/decode round-trips for any share, ceremony id and index", () => {
    fc.assert(
      fc.property(anyShare, anyId, anyIndex, fc.boolean(), (share, ceremonyId, index, numbered) => {
        const card = encodeShare({ ceremonyId, index, share });
        expect(card.words).toHaveLength(shareWordCount(share.length));
        const wordText = numbered ? card.words.map((w, i) => `${i + 1}. ${w.toUpperCase()}`).join("\n") : card.words.join(" ");
        for (const text of [wordText, card.hex]) {
          const d = decodeShare(text, { ceremonyId });
          expect(d.index).toBe(index);
          expect(d.ceremonyTag).toBe(ceremonyTag(ceremonyId));
          expect(hex(d.share)).toBe(hex(share));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("detects any single-word substitution and names the word", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ minLength: 33, maxLength: 33 }), anyShare),
        anyIndex,
        fc.nat(),
        fc.integer({ min: 1, max: 2047 }),
        (share, index, posSeed, step) => {
          const { words } = encodeShare({ ceremonyId: ID, index, share });
          const pos = posSeed % words.length;
          const typed = words.slice();
          typed[pos] = wordlist[(wordlist.indexOf(words[pos]!) + step) % 2048]!;
          const e = decodeError(typed.join(" "), { ceremonyId: ID });
          expect(e.code).toBe("SHARE_CHECKSUM");
          // Names the position (a coincidental second repair, ~1e-5, lists it among others).
          expect(e.message).toMatch(new RegExp(`^Word ${pos + 1}, |one of words [^.]*\\b${pos + 1}\\b`));
          // Nothing quoted but the typed word and the suggested one.
          for (const q of quoted(e.message)) expect([typed[pos], words[pos]]).toContain(q);
        },
      ),
      { numRuns: 40 },
    );
  });
});
