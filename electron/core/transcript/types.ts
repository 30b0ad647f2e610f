/**
 * The transcript contract shared by the store, the verifier, the bundle
 * exporter, the report and the engine. Changing a field here changes what an
 * auditor's `custos verify` accepts: bump TRANSCRIPT_FORMAT_VERSION.
 */

export const TRANSCRIPT_FORMAT_VERSION = 1 as const;

/** prevHash of the first entry of every ceremony. */
export const GENESIS_HASH = "0".repeat(64);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type CeremonyMode = "rehearsal" | "production";
export type CeremonyStatus = "open" | "closed" | "failed" | "abandoned";

/** One row of the `ceremonies` table; not hash-chained, cross-checked against entry 1. */
export interface CeremonyMeta {
  id: string;
  scriptId: string;
  scriptVersion: string;
  scriptTitle: string;
  scriptSha256: string;
  /** The exact bytes of the script file as UTF-8 text, so the hash can be re-checked. */
  scriptText: string;
  mode: CeremonyMode;
  status: CeremonyStatus;
  createdAt: string;
}

/**
 * The hashed part of an entry. bodyHash = SHA-256 over the RFC 8785 canonical
 * JSON of this object (hex, lower case).
 */
export interface EntryBody {
  v: typeof TRANSCRIPT_FORMAT_VERSION;
  ceremonyId: string;
  /** 1-based, contiguous. */
  seq: number;
  stepId: string;
  action: string;
  inputs: { [key: string]: Json };
  outputs: { [key: string]: Json };
  /** Participant ids whose attestation signature this entry must carry. */
  requiredSigners: string[];
  /** ISO 8601 UTC. */
  timestamp: string;
  /** entryHash of the previous entry, GENESIS_HASH for seq 1. */
  prevHash: string;
}

export type SignatureAlgorithm =
  | "Ed25519"
  | "ECDSA-SHA256"
  | "ECDSA-SHA384"
  | "ECDSA-SHA512"
  | "RSA-PKCS1-SHA256";

/**
 * A signature over attestationMessage(bodyHash).
 * kind "participant": Ed25519 key derived from the participant's passphrase;
 *   publicKey = base64 of the 32 raw bytes; signer = participant id.
 * kind "root-key": made inside the HSM by the ceremony's root key (the seal);
 *   publicKey = base64 of the SPKI DER; signer = "root-key";
 *   ECDSA signatures are raw r||s (IEEE P1363), as PKCS#11 returns them.
 */
export interface Signature {
  signer: string;
  kind: "participant" | "root-key";
  algorithm: SignatureAlgorithm;
  publicKey: string;
  signature: string;
}

/**
 * entryHash = SHA-256 over canonical JSON of { bodyHash, signatures } with
 * signatures sorted by signer: removing or changing a signature breaks the chain.
 */
export interface StoredEntry {
  body: EntryBody;
  /** Exactly the canonical JSON stored in the database. */
  bodyJson: string;
  bodyHash: string;
  signatures: Signature[];
  entryHash: string;
}

/** Self-contained export that `custos verify bundle.json` accepts. */
export interface Bundle {
  format: "custos-transcript-bundle";
  version: typeof TRANSCRIPT_FORMAT_VERSION;
  ceremony: CeremonyMeta;
  entries: Array<{
    body: EntryBody;
    bodyHash: string;
    signatures: Signature[];
    entryHash: string;
  }>;
  /** entryHash of the last entry. */
  head: string;
  exportedAt: string;
}

/** Verdict for one ceremony. */
export interface CeremonyVerdict {
  ceremonyId: string;
  ok: boolean;
  entries: number;
  head: string | null;
  sealed: boolean;
  /** The first entry that fails, by sequence number and step. */
  firstBad?: { seq: number; stepId: string; reason: string };
  /** Problems not tied to one entry (script hash, ceremony row). */
  problems: string[];
}

export interface VerifyResult {
  ok: boolean;
  source: "sqlite" | "bundle" | "pdf";
  ceremonies: CeremonyVerdict[];
}

/**
 * One entries row exactly as stored, for the verifier: nothing parsed,
 * nothing trusted. A bundle is verified through the same shape, with bodyJson
 * and signaturesJson built by canonicalizing the bundle's objects.
 */
export interface RawEntry {
  seq: number;
  stepId: string;
  action: string;
  bodyJson: string;
  bodyHash: string;
  signaturesJson: string;
  entryHash: string;
}
