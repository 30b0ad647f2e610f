// Share entry is linear in its input and capped: a pasted megabyte or a long
// hex string is refused at once instead of being "repaired" digit by digit.
import { describe, expect, it } from "vitest";
import { MAX_SHARE_INPUT, decodeShare, encodeShare } from "../../electron/core/shares/encoding";

const time = (f: () => unknown) => {
  const t0 = performance.now();
  try {
    f();
  } catch {
    // refusals are what is timed
  }
  return performance.now() - t0;
};

describe("share input bounds", () => {
  it("refuses input over the cap by its length, without echoing it", () => {
    const long = "abandon ".repeat(400);
    expect(long.length).toBeGreaterThan(MAX_SHARE_INPUT);
    expect(() => decodeShare(long)).toThrow(/is \d+ characters long; a share card has far fewer/);
    expect(time(() => decodeShare("f".repeat(5_000_000)))).toBeLessThan(200);
  });

  it("tokens are trimmed and compared in linear time (was quadratic on 'x-----…-----x' and slow on one long word)", () => {
    for (const text of ["x" + "-".repeat(2000) + "x", "abandonx".repeat(250), "1." + ")".repeat(2000) + "zoo"]) {
      expect(text.length).toBeLessThanOrEqual(MAX_SHARE_INPUT + 8);
      expect(time(() => decodeShare(text.slice(0, MAX_SHARE_INPUT))), text.slice(0, 20)).toBeLessThan(150);
    }
  });

  it("a real share with one wrong hex digit is still repaired and named", () => {
    const { hex } = encodeShare({ ceremonyId: "c-1", index: 2, share: new Uint8Array(33).fill(7) });
    const bad = hex.slice(0, 20) + (hex[20] === "0" ? "1" : "0") + hex.slice(21);
    expect(() => decodeShare(bad)).toThrow(/character 21 appears to be wrong/);
    expect(decodeShare(hex).index).toBe(2);
  });
});
