import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { firstNonIntegerPath, isTimestamp } from "../../electron/core/transcript/schema";

// The verifier checks every entry's timestamp and numbers on its hot path with
// plain arithmetic; the answers must be those of the plain definitions (§1).

/** §1's definition: the pattern, and toISOString() prints the instant back as the same text. */
const timestampReference = (v: string) => {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/.test(v)) return false;
  const t = Date.parse(v);
  return Number.isFinite(t) && new Date(t).toISOString() === v;
};

/** §1 "integers only", the first offending path written out as it is walked. */
function nonIntegerReference(value: unknown, path = ""): string | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? undefined : path || "(value)";
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = nonIntegerReference(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const p = nonIntegerReference(v, path ? `${path}.${k}` : k);
      if (p) return p;
    }
  }
  return undefined;
}

describe("isTimestamp", () => {
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
  const text = fc
    .tuple(fc.integer({ min: 0, max: 9999 }), two(19), two(39), two(29), two(69), two(69), fc.integer({ min: 0, max: 999 }))
    .map(([y, mo, d, h, mi, s, ms]) => `${String(y).padStart(4, "0")}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, "0")}Z`);

  it("agrees with Date's round trip on generated texts (valid and impossible dates)", () => {
    fc.assert(fc.property(text, (v) => isTimestamp(v) === timestampReference(v)), { numRuns: 20000 });
  });

  it.each([
    ["2026-12-03T16:05:36.000Z", true],
    ["2024-02-29T23:59:59.999Z", true],
    ["2023-02-29T00:00:00.000Z", false],
    ["1900-02-29T00:00:00.000Z", false],
    ["2000-02-29T00:00:00.000Z", true],
    ["0000-01-01T00:00:00.000Z", true],
    ["2026-04-31T00:00:00.000Z", false],
    ["2026-12-31T24:00:00.000Z", false],
    ["2026-12-31T23:60:00.000Z", false],
    ["2026-12-31T23:59:60.000Z", false],
    ["2026-00-10T00:00:00.000Z", false],
    ["2026-13-10T00:00:00.000Z", false],
    ["2026-12-00T00:00:00.000Z", false],
    ["2026-12-03T16:05:36Z", false],
    ["2026-12-03T16:05:36.000+00:00", false],
    ["+02026-12-03T16:05:36.000Z", false],
  ])("%s → %s", (v, want) => {
    expect(isTimestamp(v)).toBe(want);
    expect(timestampReference(v)).toBe(want);
  });

  it("refuses what is not a string", () => {
    for (const v of [undefined, null, 0, Date.now(), new Date(), ["2026-12-03T16:05:36.000Z"]]) expect(isTimestamp(v)).toBe(false);
  });
});

describe("firstNonIntegerPath", () => {
  const leaf = fc.oneof(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true }), fc.string(), fc.boolean(), fc.constant(null), fc.constantFrom(2 ** 53, -(2 ** 53), 0.5, -0));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("0", "10", "__proto__", "a.b")), tie("v"), { maxKeys: 4 })),
  })).v;

  it("names the same first path as the plain walk", () => {
    fc.assert(fc.property(value, (v) => firstNonIntegerPath(JSON.parse(JSON.stringify(v))) === nonIntegerReference(JSON.parse(JSON.stringify(v)))), { numRuns: 5000 });
  });

  it.each([
    [{ a: 1, b: [1, 2, { c: 0.5 }] }, "b[2].c"],
    [[1, [2, 1.5]], "[1][1]"],
    [1.5, "(value)"],
    [{ outputs: { n: 2 ** 53 } }, "outputs.n"],
    [{ a: [1, 2], b: { c: "x" } }, undefined],
  ])("%j → %s", (v, want) => expect(firstNonIntegerPath(v)).toBe(want));
});
