import crypto from "node:crypto";
import type { SignatureAlgorithm } from "../transcript/types";

/** Root key algorithms a ceremony may ask for (DESIGN.md, "Backup and shares"). */
export const ROOT_KEY_ALGORITHMS = ["EC-P384", "EC-P256", "EC-P521", "RSA-3072", "RSA-4096"] as const;
export type RootKeyAlgorithm = (typeof ROOT_KEY_ALGORITHMS)[number];
export const DEFAULT_ROOT_KEY_ALGORITHM: RootKeyAlgorithm = "EC-P384";

interface EcSpec {
  family: "EC";
  curve: "P-256" | "P-384" | "P-521";
  /** DER of the named-curve OID, as CKA_EC_PARAMS wants it. */
  paramsDer: string;
  hash: "sha256" | "sha384" | "sha512";
  signature: SignatureAlgorithm;
  /** Bytes per coordinate: r||s signatures are twice this long. */
  size: number;
}
interface RsaSpec {
  family: "RSA";
  bits: 3072 | 4096;
  hash: "sha256";
  signature: SignatureAlgorithm;
}
export type AlgorithmSpec = EcSpec | RsaSpec;

const SPECS: Record<RootKeyAlgorithm, AlgorithmSpec> = {
  "EC-P256": { family: "EC", curve: "P-256", paramsDer: "06082a8648ce3d030107", hash: "sha256", signature: "ECDSA-SHA256", size: 32 },
  "EC-P384": { family: "EC", curve: "P-384", paramsDer: "06052b81040022", hash: "sha384", signature: "ECDSA-SHA384", size: 48 },
  "EC-P521": { family: "EC", curve: "P-521", paramsDer: "06052b81040023", hash: "sha512", signature: "ECDSA-SHA512", size: 66 },
  "RSA-3072": { family: "RSA", bits: 3072, hash: "sha256", signature: "RSA-PKCS1-SHA256" },
  "RSA-4096": { family: "RSA", bits: 4096, hash: "sha256", signature: "RSA-PKCS1-SHA256" },
};

/** The parameters behind an algorithm name. */
export function algorithmSpec(alg: RootKeyAlgorithm): AlgorithmSpec {
  return SPECS[alg];
}

/** Is this string one of the supported root key algorithms? */
export function isRootKeyAlgorithm(s: string): s is RootKeyAlgorithm {
  return (ROOT_KEY_ALGORITHMS as readonly string[]).includes(s);
}

/** Reads a DER length at offset; returns [length, header bytes consumed]. */
function derLength(buf: Buffer, offset: number): [number, number] {
  const first = buf[offset]!;
  if (first < 0x80) return [first, 1];
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = (len << 8) | buf[offset + 1 + i]!;
  return [len, 1 + n];
}

/** CKA_EC_POINT is a DER OCTET STRING around the point on most tokens; some return it bare. */
export function unwrapEcPoint(ecPoint: Buffer): Buffer {
  if (ecPoint[0] === 0x04 && ecPoint.length > 2) {
    const [len, hdr] = derLength(ecPoint, 1);
    if (1 + hdr + len === ecPoint.length && ecPoint[1 + hdr] === 0x04) return ecPoint.subarray(1 + hdr);
  }
  return ecPoint;
}

/** SubjectPublicKeyInfo DER for an EC public key given the uncompressed point. */
export function ecSpki(curve: EcSpec["curve"], point: Buffer): Buffer {
  const size = (point.length - 1) / 2;
  const jwk = {
    kty: "EC",
    crv: curve,
    x: point.subarray(1, 1 + size).toString("base64url"),
    y: point.subarray(1 + size).toString("base64url"),
  };
  return crypto.createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "der" });
}

/** SubjectPublicKeyInfo DER for an RSA public key. */
export function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  const jwk = { kty: "RSA", n: modulus.toString("base64url"), e: exponent.toString("base64url") };
  return crypto.createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "der" });
}

/** The uncompressed point of an EC SPKI (for creating a public key object). */
export function ecPointFromSpki(spki: Buffer): Buffer {
  const jwk = crypto.createPublicKey({ key: spki, format: "der", type: "spki" }).export({ format: "jwk" });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
}

/** Modulus and exponent of an RSA SPKI. */
export function rsaPartsFromSpki(spki: Buffer): { modulus: Buffer; exponent: Buffer } {
  const jwk = crypto.createPublicKey({ key: spki, format: "der", type: "spki" }).export({ format: "jwk" });
  return { modulus: Buffer.from(jwk.n!, "base64url"), exponent: Buffer.from(jwk.e!, "base64url") };
}

/** Human-comparable fingerprint of a public key: SHA-256 of its SPKI DER, hex. */
export function spkiFingerprint(spki: Buffer): string {
  return crypto.createHash("sha256").update(spki).digest("hex");
}

/** Verifies a root-key signature the way an outside tool would (node's OpenSSL). */
export function verifyRootSignature(alg: RootKeyAlgorithm, spki: Buffer, data: Buffer, signature: Buffer): boolean {
  const spec = algorithmSpec(alg);
  const key = crypto.createPublicKey({ key: spki, format: "der", type: "spki" });
  if (spec.family === "EC") return crypto.verify(spec.hash, data, { key, dsaEncoding: "ieee-p1363" }, signature);
  return crypto.verify(spec.hash, data, key, signature);
}
