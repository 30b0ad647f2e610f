import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { holdsLoneSurrogate, isCanonicalOfParsed, nestsTooDeep, sha256Hex } from "../../electron/core/transcript/canonical";

// The verifier's fast answer to "is this stored text canonical?" must be the
// answer of the RFC 8785 library itself, for every text.
// RFC 8785 has no form for a lone surrogate (§1), which the library prints back as an escape.
const wellFormed = (v: unknown): boolean =>
  typeof v === "string"
    ? (v as string & { isWellFormed(): boolean }).isWellFormed()
    : Array.isArray(v)
      ? v.every(wellFormed)
      : v !== null && typeof v === "object"
        ? Object.entries(v).every(([k, x]) => wellFormed(k) && wellFormed(x))
        : true;
const reference = (text: string) => {
  const v: unknown = JSON.parse(text);
  return canonicalize(v) === text && wellFormed(v);
};

describe("isCanonicalOfParsed agrees with canonicalize", () => {
  const key = fc.oneof(fc.string(), fc.constantFrom("0", "1", "9", "10", "01", "-1", "4294967294", "4294967295", "a", "b", "__proto__", "toJSON", "é", "\u{1F600}", "\ud800"));
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constantFrom(-0, 1e21, 1e-7, 0.1));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(key, tie("v"), { maxKeys: 5 })),
  })).v;

  it("on canonical texts, texts in insertion order and reformatted texts", () => {
    fc.assert(
      fc.property(value, (v) => {
        const texts = [canonicalize(v)!, JSON.stringify(v), JSON.stringify(v, null, 1)];
        for (const text of texts) expect(isCanonicalOfParsed(JSON.parse(text), text)).toBe(reference(text));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['{"b":1,"a":2}', false],
    ['{"a":2,"b":1}', true],
    ['{"10":1,"9":2}', true],
    ['{"9":2,"10":1}', false],
    ['{"a":1,"a":2}', false],
    ['{"a":-0}', false],
    ['{"a":1.0}', false],
    ['{"a":1e+21}', true],
    ['{"a":1e21}', false],
    ['{"a":"\\u00e9"}', false],
    ['{"a":"é"}', true],
    ['{"__proto__":{"b":1,"a":2}}', false],
    ['{"__proto__":{"a":2,"b":1}}', true],
    [' {"a":1}', false],
    ['[{"b":1},{"a":[{"d":1,"c":2}]}]', false],
  ])("%s canonical: %s", (text, canonical) => {
    expect(reference(text)).toBe(canonical);
    expect(isCanonicalOfParsed(JSON.parse(text), text)).toBe(canonical);
  });
});

describe("sha256Hex", () => {
  it.each(["", "custos", "é\u{1F600}", "\ud800 lone surrogate"])("hashes %j as the UTF-8 bytes createHash sees", (s) => {
    expect(sha256Hex(s)).toBe(createHash("sha256").update(Buffer.from(s, "utf8")).digest("hex"));
    expect(sha256Hex(Buffer.from(s, "utf8"))).toBe(createHash("sha256").update(Buffer.from(s, "utf8")).digest("hex"));
  });
});

describe("a lone surrogate has no canonical form (§1)", () => {
  it("is found in any string or key, escaped as JavaScript prints it, and only there", () => {
    const cases: Array<[unknown, boolean]> = [
      [{ a: "x\ud800y" }, true],
      [{ "\udc00": 1 }, true],
      [["\udfff"], true],
      [{ a: "\\ud800" }, false], // a backslash, then the letters: printed "\\ud800"
      [{ a: "\\\ud800" }, true], // a backslash, then a lone surrogate: "\\\ud800"
      [{ a: "😀 \u{10FFFF}" }, false], // pairs are printed as characters
      [{ a: "plain" }, false],
    ];
    for (const [value, lone] of cases) {
      const text = JSON.stringify(value);
      expect(holdsLoneSurrogate(text), text).toBe(lone);
      expect(isCanonicalOfParsed(JSON.parse(text), text), text).toBe(!lone);
    }
  });
});

describe("nesting deeper than 64 is not canonical (§1)", () => {
  const nest = (n: number, inner: unknown = 1): unknown => Array.from({ length: n - 1 }).reduce<unknown>((v) => [v], [inner]);
  it("64 levels are canonical, 65 are not, on the fast path and on the path for keys out of order", () => {
    for (const [depth, ok] of [[64, true], [65, false]] as const) {
      const text = JSON.stringify(nest(depth));
      expect(nestsTooDeep(JSON.parse(text)), `${depth}`).toBe(!ok);
      expect(isCanonicalOfParsed(JSON.parse(text), text), `${depth}`).toBe(ok);
      // Integer-like keys make JavaScript reorder an object: the slower path (canonicalize) answers, with the same limit.
      const reordered = `{"b":1,"a":${JSON.stringify(nest(depth - 1))}}`;
      expect(isCanonicalOfParsed(JSON.parse(reordered), `{"a":${JSON.stringify(nest(depth - 1))},"b":1}`), `${depth} reordered`).toBe(ok);
    }
  });
});
