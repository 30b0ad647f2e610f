import { createHash, randomBytes } from "node:crypto";
import { combine } from "shamir-secret-sharing";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { CustosError } from "../../electron/core/errors";
import {
  checkShareCommitment,
  combineShares,
  commitShare,
  decodeShare,
  encodeShare,
  kcv,
  mixEntropy,
  shortCommitment,
  splitSecret,
  zeroize,
} from "../../electron/core/shares";

// Wrap the library's combine in a spy so tests can prove that bad input is
// refused before the library (which would silently return a wrong secret) runs.
vi.mock("shamir-secret-sharing", async (importOriginal) => {
  const mod = await importOriginal<typeof import("shamir-secret-sharing")>();
  return { ...mod, combine: vi.fn(mod.combine) };
});

function key(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** Runs fn and returns the CustosError it throws (fails the test otherwise). */
async function custosError(fn: () => unknown): Promise<CustosError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return e as CustosError;
  }
  throw new Error("expected a CustosError");
}

function subsets<T>(items: T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, size - 1).map((s) => [head!, ...s]), ...subsets(rest, size)];
}

describe("kcv", () => {
  it("matches known answers (openssl enc -aes-256-ecb -nopad over a zero block)", () => {
    // head -c16 /dev/zero | openssl enc -aes-256-ecb -nopad -K 00..00 | xxd -p -> dc95c078a2408989ad48a21492842087
    expect(kcv(new Uint8Array(32))).toBe("DC95C0");
    // -K 000102..1f -> f29000b62a499fd0a9f39a6add2e7780
    expect(kcv(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe("F29000");
  });

  it("is six upper-case hex characters", () => {
    expect(kcv(key())).toMatch(/^[0-9A-F]{6}$/);
  });

  it("refuses a key that is not 32 bytes", async () => {
    for (const len of [0, 16, 24, 31, 33]) {
      expect((await custosError(() => kcv(new Uint8Array(len)))).code).toBe("KEK_LENGTH");
    }
  });
});

describe("zeroize", () => {
  it("fills every buffer with zeros and skips null/undefined", () => {
    const a = key();
    const b = new Uint8Array([1, 2, 3]);
    zeroize(a, null, b, undefined);
    expect(a.every((x) => x === 0)).toBe(true);
    expect(b.every((x) => x === 0)).toBe(true);
  });
});

describe("mixEntropy", () => {
  it("XORs two 32-byte buffers into a new buffer without changing the inputs", () => {
    const a = key();
    const b = key();
    const [a0, b0] = [hex(a), hex(b)];
    const m = mixEntropy(a, b);
    expect(m).not.toBe(a);
    expect(m).not.toBe(b);
    for (let i = 0; i < 32; i++) expect(m[i]).toBe(a[i]! ^ b[i]!);
    expect([hex(a), hex(b)]).toEqual([a0, b0]);
  });

  it("refuses wrong lengths, an all-zero source and two equal sources", async () => {
    expect((await custosError(() => mixEntropy(new Uint8Array(16), key()))).code).toBe("KEK_LENGTH");
    expect((await custosError(() => mixEntropy(key(), new Uint8Array(33)))).code).toBe("KEK_LENGTH");
    const zero = await custosError(() => mixEntropy(key(), new Uint8Array(32)));
    expect(zero.code).toBe("KEK_ENTROPY");
    expect(zero.message).toContain("second");
    const a = key();
    expect((await custosError(() => mixEntropy(a, a.slice()))).code).toBe("KEK_ENTROPY");
  });
});

describe("splitSecret / combineShares", () => {
  beforeEach(() => {
    vi.mocked(combine).mockClear();
  });

  it("any 3 of 5 shares recover a 32-byte KEK (every subset)", async () => {
    const kek = key();
    const shares = await splitSecret(kek, 5, 3);
    expect(shares).toHaveLength(5);
    for (const s of shares) expect(s).toHaveLength(33);
    const all = subsets(shares, 3);
    expect(all).toHaveLength(10);
    for (const subset of all) expect(hex(await combineShares(subset, 3))).toBe(hex(kek));
    for (const subset of subsets(shares, 4)) expect(hex(await combineShares(subset, 3))).toBe(hex(kek));
    expect(hex(await combineShares(shares, 3))).toBe(hex(kek));
  });

  it("255 shares with threshold 128 round-trip through share cards", async () => {
    const kek = key();
    const id = "root-2025-big";
    const shares = await splitSecret(kek, 255, 128);
    expect(shares).toHaveLength(255);
    const decoded = shares.map((share, i) => {
      const card = encodeShare({ ceremonyId: id, index: i + 1, share });
      const back = decodeShare(card.words.join(" "), { ceremonyId: id });
      expect(back.index).toBe(i + 1);
      return back.share;
    });
    expect(hex(await combineShares(decoded.slice(0, 128), 128))).toBe(hex(kek));
    expect(hex(await combineShares(decoded.slice(127), 128))).toBe(hex(kek));
    const picked = decoded.filter((_, i) => i % 2 === 0).slice(0, 128);
    expect(hex(await combineShares(picked, 128))).toBe(hex(kek));
  });

  it("refuses too few shares by name, before the library is called", async () => {
    const shares = await splitSecret(key(), 5, 3);
    const e = await custosError(() => combineShares(shares.slice(0, 2), 3));
    expect(e.code).toBe("SHARE_TOO_FEW");
    expect(e.message).toBe("2 shares given; 3 are needed to recover the key.");
    expect(e.hint).toContain("1 more share");
    expect((await custosError(() => combineShares([], 2))).message).toContain("0 shares given; 2 are needed");
    expect(vi.mocked(combine)).not.toHaveBeenCalled();
  });

  it("refuses the same share twice, and two shares claiming the same x", async () => {
    const shares = await splitSecret(key(), 5, 3);
    const same = await custosError(() => combineShares([shares[0]!, shares[1]!, shares[0]!.slice()], 3));
    expect(same.code).toBe("SHARE_DUPLICATE");
    expect(same.message).toContain("Shares 1 and 3");
    expect(same.message).toContain("same share");

    const forged = shares[2]!.slice();
    forged[forged.length - 1] = shares[1]![shares[1]!.length - 1]!;
    const sameX = await custosError(() => combineShares([shares[0]!, shares[1]!, forged], 3));
    expect(sameX.code).toBe("SHARE_DUPLICATE");
    expect(sameX.message).toContain("Shares 2 and 3");
    expect(vi.mocked(combine)).not.toHaveBeenCalled();
  });

  it("refuses shares of different lengths and an x coordinate of 0", async () => {
    const shares = await splitSecret(key(), 3, 2);
    const e = await custosError(() => combineShares([shares[0]!, shares[1]!.subarray(1)], 2));
    expect(e.code).toBe("SHARE_FORMAT");
    expect(e.message).toContain("Share 2");
    const zeroX = shares[1]!.slice();
    zeroX[zeroX.length - 1] = 0;
    expect((await custosError(() => combineShares([shares[0]!, zeroX], 2))).code).toBe("SHARE_FORMAT");
    expect(vi.mocked(combine)).not.toHaveBeenCalled();
  });

  it("refuses bad split parameters with SHARE_PARAMS", async () => {
    const bad: [number, number][] = [
      [5, 1],
      [3, 4],
      [1, 1],
      [256, 2],
      [5, 2.5],
      [Number.NaN, 2],
    ];
    for (const [total, threshold] of bad) {
      expect((await custosError(() => splitSecret(key(), total, threshold))).code).toBe("SHARE_PARAMS");
    }
    expect((await custosError(() => splitSecret(new Uint8Array(0), 3, 2))).code).toBe("SHARE_PARAMS");
    expect((await custosError(() => combineShares([], 1))).code).toBe("SHARE_PARAMS");
  });
});

describe("share commitments", () => {
  const id = "ceremony-7f3a";

  it("matches the documented encoding", () => {
    const share = Uint8Array.from({ length: 33 }, (_, i) => i + 1);
    const { salt, commitment } = commitShare(share, id, 4);
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    const expected = createHash("sha256")
      .update(
        Buffer.concat([
          Buffer.from("custos-share-commitment-v1"),
          Buffer.from([0]),
          Buffer.from(id, "utf8"),
          Buffer.from([0, 4]),
          Buffer.from(salt, "hex"),
          share,
        ]),
      )
      .digest("hex");
    expect(commitment).toBe(expected);
  });

  it("checks true for the right share and false for another share, index or ceremony", async () => {
    const shares = await splitSecret(key(), 3, 2);
    const { salt, commitment } = commitShare(shares[0]!, id, 1);
    expect(checkShareCommitment(shares[0]!, id, 1, salt, commitment)).toBe(true);
    expect(checkShareCommitment(shares[0]!, id, 1, salt.toUpperCase(), commitment.toUpperCase())).toBe(true);
    expect(checkShareCommitment(shares[1]!, id, 1, salt, commitment)).toBe(false);
    expect(checkShareCommitment(shares[0]!, id, 2, salt, commitment)).toBe(false);
    expect(checkShareCommitment(shares[0]!, "ceremony-other", 1, salt, commitment)).toBe(false);
    const flipped = shares[0]!.slice();
    flipped[5]! ^= 1;
    expect(checkShareCommitment(flipped, id, 1, salt, commitment)).toBe(false);
    expect(checkShareCommitment(shares[0]!, id, 1, hex(randomBytes(16)), commitment)).toBe(false);
  });

  it("salts every commitment", () => {
    const share = key();
    expect(commitShare(share, id, 1).commitment).not.toBe(commitShare(share, id, 1).commitment);
  });

  it("says the record is malformed rather than blaming the share", async () => {
    const share = key();
    const { salt, commitment } = commitShare(share, id, 1);
    expect((await custosError(() => checkShareCommitment(share, id, 1, salt.slice(2), commitment))).code).toBe("SHARE_COMMITMENT");
    expect((await custosError(() => checkShareCommitment(share, id, 1, salt, commitment + "00"))).code).toBe("SHARE_COMMITMENT");
    expect((await custosError(() => commitShare(share, "a\u0000b", 1))).code).toBe("SHARE_PARAMS");
    expect((await custosError(() => commitShare(share, id, 0))).code).toBe("SHARE_PARAMS");
  });

  it("has a short grouped form for the card", async () => {
    expect(shortCommitment("A1B2C3D4E5F6a7b8c9d0")).toBe("a1b2-c3d4-e5f6");
    const { commitment } = commitShare(key(), id, 3);
    expect(shortCommitment(commitment)).toMatch(/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect((await custosError(() => shortCommitment("abc"))).code).toBe("SHARE_COMMITMENT");
  });
});
