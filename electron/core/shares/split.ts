/**
 * M-of-N splitting of the KEK with `shamir-secret-sharing`, plus per-share
 * commitments.
 *
 * The library silently returns a wrong secret when given too few shares or a
 * corrupted share, so everything a person can get wrong is checked here before
 * the library is called, and each share can be checked on its own against the
 * salted commitment recorded in the transcript.
 *
 * Share format (from the library): y-bytes (one per secret byte) followed by
 * one x-coordinate byte (1..255, random, unique within a split).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { combine, split } from "shamir-secret-sharing";
import { CustosError } from "../errors";

const MAX_SHARES = 255;
const COMMITMENT_DOMAIN = "custos-share-commitment-v1";
const SALT_BYTES = 16;

function isWholeNumber(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n);
}

function requireThreshold(threshold: number): void {
  if (!isWholeNumber(threshold) || threshold < 2 || threshold > MAX_SHARES) {
    throw new CustosError(
      "SHARE_PARAMS",
      `The threshold must be a whole number from 2 to ${MAX_SHARES}; got ${String(threshold)}.`,
      "Choose how many custodians must come together to recover the key (at least 2).",
    );
  }
}

/** Splits a secret M-of-N after checking the parameters, so a bad threshold is a plain message, not a library exception. */
export async function splitSecret(secret: Uint8Array, total: number, threshold: number): Promise<Uint8Array[]> {
  if (!(secret instanceof Uint8Array) || secret.length === 0) {
    throw new CustosError("SHARE_PARAMS", "There is no secret to split (it is empty).", "This is a programming error.");
  }
  if (!isWholeNumber(total) || total < 2 || total > MAX_SHARES) {
    throw new CustosError(
      "SHARE_PARAMS",
      `The number of shares must be a whole number from 2 to ${MAX_SHARES}; got ${String(total)}.`,
      "Choose one share per custodian (at least 2).",
    );
  }
  requireThreshold(threshold);
  if (threshold > total) {
    throw new CustosError(
      "SHARE_PARAMS",
      `The threshold (${threshold}) cannot be larger than the number of shares (${total}).`,
      "Lower the threshold or add custodians.",
    );
  }
  return split(secret, total, threshold);
}

/** Recombines shares only when the library can give a right answer: enough, distinct, same-length shares. */
export async function combineShares(shares: Uint8Array[], threshold: number): Promise<Uint8Array> {
  requireThreshold(threshold);
  if (!Array.isArray(shares) || shares.length < threshold) {
    const given = Array.isArray(shares) ? shares.length : 0;
    throw new CustosError(
      "SHARE_TOO_FEW",
      `${given} share${given === 1 ? "" : "s"} given; ${threshold} are needed to recover the key.`,
      `Collect ${threshold - given} more share${threshold - given === 1 ? "" : "s"} from other custodians.`,
    );
  }
  if (shares.length > MAX_SHARES) {
    throw new CustosError(
      "SHARE_PARAMS",
      `${shares.length} shares given; a split has at most ${MAX_SHARES}.`,
      "Some shares were entered more than once.",
    );
  }
  const first = shares[0];
  for (const [i, share] of shares.entries()) {
    if (!(share instanceof Uint8Array) || share.length < 2) {
      throw new CustosError(
        "SHARE_FORMAT",
        `Share ${i + 1} (in the order given) is too short to be a share.`,
        "Enter that share again from its card.",
      );
    }
    if (first !== undefined && share.length !== first.length) {
      throw new CustosError(
        "SHARE_FORMAT",
        `Share ${i + 1} (in the order given) is ${share.length} bytes long but share 1 is ${first.length}; they cannot come from the same split.`,
        "Check that every share card belongs to this ceremony and this backup.",
      );
    }
    if (share[share.length - 1] === 0) {
      throw new CustosError(
        "SHARE_FORMAT",
        `Share ${i + 1} (in the order given) is damaged (its x coordinate is 0, which a split never produces).`,
        "Enter that share again from its card.",
      );
    }
  }
  for (let i = 0; i < shares.length; i++) {
    for (let j = i + 1; j < shares.length; j++) {
      const a = shares[i]!;
      const b = shares[j]!;
      if (a[a.length - 1] !== b[b.length - 1]) continue;
      const same = Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
      throw new CustosError(
        "SHARE_DUPLICATE",
        same
          ? `Shares ${i + 1} and ${j + 1} (in the order given) are the same share.`
          : `Shares ${i + 1} and ${j + 1} (in the order given) claim the same position in the split; at most one of them is genuine.`,
        same
          ? "Each custodian's share counts once; collect a share from another custodian."
          : "Check both shares against their commitments to find the bad one.",
      );
    }
  }
  try {
    return await combine(shares);
  } catch (cause) {
    throw new CustosError("SHARE_FORMAT", "The shares could not be combined.", "Check each share against its commitment.", {
      cause,
    });
  }
}

function requireCommitmentContext(ceremonyId: string, index: number): void {
  // The id is followed by a 0x00 separator, so it must not contain one itself:
  // otherwise two different (id, index) pairs could encode to the same bytes.
  if (typeof ceremonyId !== "string" || ceremonyId.length === 0 || ceremonyId.includes("\u0000")) {
    throw new CustosError("SHARE_PARAMS", "The ceremony id must be a non-empty string without NUL characters.");
  }
  if (!isWholeNumber(index) || index < 1 || index > MAX_SHARES) {
    throw new CustosError("SHARE_PARAMS", `The share index must be a whole number from 1 to ${MAX_SHARES}; got ${String(index)}.`);
  }
}

function commitmentDigest(share: Uint8Array, ceremonyId: string, index: number, salt: Uint8Array): Buffer {
  return createHash("sha256")
    .update(COMMITMENT_DOMAIN, "utf8")
    .update(Uint8Array.of(0))
    .update(ceremonyId, "utf8")
    .update(Uint8Array.of(0, index))
    .update(salt)
    .update(share)
    .digest();
}

/** Salted, domain-separated hash of one share, stored in the transcript so each share can be checked alone at recovery. */
export function commitShare(share: Uint8Array, ceremonyId: string, index: number): { salt: string; commitment: string } {
  requireCommitmentContext(ceremonyId, index);
  if (!(share instanceof Uint8Array) || share.length < 2) {
    throw new CustosError("SHARE_FORMAT", "There is no share to commit to (it is shorter than 2 bytes).");
  }
  const salt = randomBytes(SALT_BYTES);
  return { salt: salt.toString("hex"), commitment: commitmentDigest(share, ceremonyId, index, salt).toString("hex") };
}

/**
 * Checks one share against its recorded commitment in constant time. A
 * malformed salt or commitment throws instead of returning false, so a damaged
 * record is not blamed on the custodian's share.
 */
export function checkShareCommitment(
  share: Uint8Array,
  ceremonyId: string,
  index: number,
  salt: string,
  commitment: string,
): boolean {
  requireCommitmentContext(ceremonyId, index);
  if (typeof salt !== "string" || !/^[0-9a-f]{32}$/i.test(salt) || typeof commitment !== "string" || !/^[0-9a-f]{64}$/i.test(commitment)) {
    throw new CustosError(
      "SHARE_COMMITMENT",
      "The recorded share commitment is malformed (salt must be 32 hex characters, commitment 64).",
      "The transcript or bundle this commitment came from may be damaged; verify it with `custos verify`.",
    );
  }
  const actual = commitmentDigest(share, ceremonyId, index, Buffer.from(salt, "hex"));
  return timingSafeEqual(actual, Buffer.from(commitment, "hex"));
}

/** A short, readable prefix of a commitment for the share card, so a custodian can match card and transcript by eye. */
export function shortCommitment(commitment: string): string {
  if (typeof commitment !== "string" || !/^[0-9a-f]{12,}$/i.test(commitment)) {
    throw new CustosError("SHARE_COMMITMENT", "A share commitment must be at least 12 hex characters.");
  }
  const c = commitment.slice(0, 12).toLowerCase();
  return `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8, 12)}`;
}
