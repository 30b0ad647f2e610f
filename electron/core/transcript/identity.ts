import { createPrivateKey, createPublicKey, randomBytes, scryptSync, sign, verify, type KeyObject } from "node:crypto";
import { CustosError } from "../errors";
import { decodeBase64Strict } from "./base64";
import { sha256Hex } from "./canonical";

/** scrypt parameters recorded at enrolment so the same passphrase yields the same key years later. */
export interface KdfParams {
  algorithm: "scrypt";
  N: number;
  r: number;
  p: number;
  /** hex, 16 bytes, fresh per person. */
  salt: string;
}

/** A participant's unlocked attestation key; only the public half is ever recorded. */
export interface AttestationKey {
  /** base64 of the 32 raw Ed25519 public key bytes. */
  publicKey: string;
  /** keyFingerprint(publicKey), for people to compare aloud. */
  fingerprint: string;
  /** Ed25519 signature over message, base64. */
  sign(message: Uint8Array): string;
  /** Drops the private key; sign() refuses afterwards. */
  dispose(): void;
}

/** Shortest passphrase accepted, counted in Unicode characters. */
export const MIN_PASSPHRASE_LENGTH = 12;

/** Interactive cost: N=2^17, r=8 takes ~128 MiB and a fraction of a second, per attestation unlock. */
const COSTS = {
  interactive: { N: 2 ** 17, r: 8, p: 1 },
  test: { N: 2 ** 10, r: 8, p: 1 },
} as const;

// DER headers for a bare 32-byte Ed25519 key (RFC 8410): node:crypto only imports keys in DER/PEM/JWK.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Fresh scrypt parameters with a random 16-byte salt; "test" is cheap and only for tests and rehearsal simulations. */
export function newKdfParams(cost: "interactive" | "test" = "interactive"): KdfParams {
  const c = COSTS[cost];
  return { algorithm: "scrypt", N: c.N, r: c.r, p: c.p, salt: randomBytes(16).toString("hex") };
}

function checkKdfParams(kdf: KdfParams): void {
  const ok =
    kdf !== null &&
    typeof kdf === "object" &&
    kdf.algorithm === "scrypt" &&
    Number.isSafeInteger(kdf.N) &&
    kdf.N >= 2 ** 10 &&
    kdf.N <= 2 ** 22 &&
    (kdf.N & (kdf.N - 1)) === 0 &&
    Number.isSafeInteger(kdf.r) &&
    kdf.r >= 1 &&
    kdf.r <= 32 &&
    Number.isSafeInteger(kdf.p) &&
    kdf.p >= 1 &&
    kdf.p <= 16 &&
    typeof kdf.salt === "string" &&
    /^[0-9a-f]{32}$/.test(kdf.salt);
  if (!ok) {
    throw new CustosError(
      "KDF_PARAMS_INVALID",
      "The recorded key-derivation parameters are not valid scrypt parameters.",
      "The participant record is damaged; use the transcript or bundle the participant was enrolled in.",
    );
  }
}

/** Derives the participant's Ed25519 attestation key from their passphrase (scrypt -> 32-byte seed); refuses short passphrases. */
export function deriveAttestationKey(passphrase: string, kdf: KdfParams): AttestationKey {
  // NFC, so the same words typed on another keyboard or OS give the same key at a recovery years later.
  const normalised = passphrase.normalize("NFC");
  if (Array.from(normalised).length < MIN_PASSPHRASE_LENGTH) {
    throw new CustosError(
      "PASSPHRASE_TOO_SHORT",
      `The passphrase is shorter than ${MIN_PASSPHRASE_LENGTH} characters.`,
      "Choose a longer passphrase, for example four or more unrelated words.",
    );
  }
  checkKdfParams(kdf);
  const seed = scryptSync(normalised, Buffer.from(kdf.salt, "hex"), 32, {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    // scrypt needs 128*N*r bytes (plus p-parallel blocks); Node's default cap is 32 MiB.
    maxmem: 128 * kdf.N * kdf.r * (kdf.p + 1) + 16 * 1024 * 1024,
  });
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  let privateKey: KeyObject | null;
  try {
    privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    seed.fill(0);
    der.fill(0);
  }
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = spki.subarray(ED25519_SPKI_PREFIX.length).toString("base64");
  return {
    publicKey,
    fingerprint: keyFingerprint(publicKey),
    sign(message: Uint8Array): string {
      if (!privateKey) {
        throw new CustosError(
          "ATTESTATION_KEY_LOCKED",
          "This attestation key has been locked.",
          "Type the passphrase again to attest.",
        );
      }
      return sign(null, message, privateKey).toString("base64");
    },
    dispose(): void {
      // A KeyObject cannot be wiped; dropping the only reference is what we can do.
      privateKey = null;
    },
  };
}

/** Human-comparable fingerprint: first 16 bytes of SHA-256 of the raw key, hex in groups of 4 ("ab12 cd34 …"). */
export function keyFingerprint(publicKeyB64: string): string {
  const raw = decodeBase64Strict(publicKeyB64);
  if (!raw) {
    throw new CustosError("PUBLIC_KEY_INVALID", "The public key is not valid base64.", "");
  }
  const hex = sha256Hex(raw).slice(0, 32);
  return hex.match(/.{4}/g)!.join(" ");
}

/** Wraps a raw 32-byte Ed25519 public key (base64) as a KeyObject, or undefined if it is not one. */
export function ed25519PublicKeyFromRaw(publicKeyB64: string): KeyObject | undefined {
  const raw = decodeBase64Strict(publicKeyB64);
  if (!raw || raw.length !== 32) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
}

/** True if signatureB64 is a valid Ed25519 signature of message by the raw 32-byte key publicKeyB64; never throws. */
export function verifyEd25519(publicKeyB64: string, message: Uint8Array, signatureB64: string): boolean {
  const key = ed25519PublicKeyFromRaw(publicKeyB64);
  const sig = decodeBase64Strict(signatureB64);
  if (!key || !sig || sig.length !== 64) return false;
  try {
    return verify(null, message, key, sig);
  } catch {
    return false;
  }
}
