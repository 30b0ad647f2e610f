import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { decodeBase64Strict } from "./base64";
import { canonicalJson, sha256Hex } from "./canonical";
import { ed25519PublicKeyFromRaw } from "./identity";
import type { EntryBody, Signature } from "./types";

/** §2.2 domain separation: an attestation signature can never be replayed as a signature over anything else. */
export const ATTESTATION_CONTEXT = "custos-attestation-v2\n";

/** SHA-256 (hex) of the RFC 8785 canonical JSON of an entry body. */
export function bodyHash(body: EntryBody): string {
  return sha256Hex(canonicalJson(body));
}

/** The bytes every participant and the root key sign for an entry: utf8(context + bodyHash). */
export function attestationMessage(bodyHash: string): Uint8Array {
  return Buffer.from(ATTESTATION_CONTEXT + bodyHash, "utf8");
}

/** Code-unit order, not localeCompare: the hash must not depend on the machine's locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Signatures in the one order the chain hashes them: by signer, then kind. */
export function sortSignatures(signatures: readonly Signature[]): Signature[] {
  return [...signatures].sort((a, b) => compareText(a.signer, b.signer) || compareText(a.kind, b.kind));
}

/** SHA-256 over canonical JSON of { bodyHash, signatures sorted by signer then kind }: links body and signatures into the chain. */
export function entryHash(bodyHash: string, signatures: Signature[]): string {
  return sha256Hex(canonicalJson({ bodyHash, signatures: sortSignatures(signatures) }));
}

// Verifying a long transcript re-uses a handful of keys; parsing DER once per key keeps `custos verify` fast.
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_LIMIT = 512;

function cachedKey(cacheKey: string, make: () => KeyObject | undefined): KeyObject | undefined {
  if (keyCache.has(cacheKey)) return keyCache.get(cacheKey) ?? undefined;
  const key = make() ?? null;
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(cacheKey, key);
  return key ?? undefined;
}

function spkiKey(publicKeyB64: string): KeyObject | undefined {
  return cachedKey(`spki:${publicKeyB64}`, () => {
    const der = decodeBase64Strict(publicKeyB64);
    if (!der) return undefined;
    try {
      return createPublicKey({ key: der, format: "der", type: "spki" });
    } catch {
      return undefined;
    }
  });
}

const ECDSA_HASH = { "ECDSA-SHA256": "sha256", "ECDSA-SHA384": "sha384", "ECDSA-SHA512": "sha512" } as const;
/** §2.3: each ECDSA algorithm goes with one curve (Node's names for P-256, P-384, P-521). */
const ECDSA_CURVE = { "ECDSA-SHA256": "prime256v1", "ECDSA-SHA384": "secp384r1", "ECDSA-SHA512": "secp521r1" } as const;
/** §2.3: RSA root keys are 3072 or 4096 bits. */
const RSA_BITS = new Set([3072, 4096]);

/** True if the participant (raw Ed25519) or root-key (SPKI: ECDSA r||s, RSA PKCS#1 v1.5, Ed25519) signature is valid over message; never throws. */
export function verifySignature(sig: Signature, message: Uint8Array): boolean {
  // ECDSA signatures are raw r||s (IEEE P1363) because that is what PKCS#11 C_Sign returns.
  try {
    const signature = decodeBase64Strict(sig.signature);
    if (!signature || signature.length === 0) return false;
    if (sig.kind === "participant" && sig.algorithm === "Ed25519") {
      if (signature.length !== 64) return false;
      const key = cachedKey(`raw:${sig.publicKey}`, () => ed25519PublicKeyFromRaw(sig.publicKey));
      return key !== undefined && verify(null, message, key, signature);
    }
    // §2.4a: a participant's own token signs ECDSA over P-256/P-384, as a root key does.
    if (sig.kind === "participant" && sig.algorithm !== "ECDSA-SHA256" && sig.algorithm !== "ECDSA-SHA384") return false;
    if (sig.kind !== "root-key" && sig.kind !== "participant") return false;
    const key = spkiKey(sig.publicKey);
    if (!key) return false;
    switch (sig.algorithm) {
      case "Ed25519":
        return key.asymmetricKeyType === "ed25519" && verify(null, message, key, signature);
      case "ECDSA-SHA256":
      case "ECDSA-SHA384":
      case "ECDSA-SHA512":
        return (
          key.asymmetricKeyType === "ec" &&
          key.asymmetricKeyDetails?.namedCurve === ECDSA_CURVE[sig.algorithm] &&
          verify(ECDSA_HASH[sig.algorithm], message, { key, dsaEncoding: "ieee-p1363" }, signature)
        );
      case "RSA-PKCS1-SHA256":
        return (
          key.asymmetricKeyType === "rsa" &&
          RSA_BITS.has(key.asymmetricKeyDetails?.modulusLength ?? 0) &&
          verify("sha256", message, key, signature)
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}
