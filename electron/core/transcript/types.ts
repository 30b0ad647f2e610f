/**
 * The transcript contract shared by the store, the verifier, the bundle
 * exporter, the report and the engine. It is normative in
 * docs/transcript-format.md (section numbers quoted below): changing a field
 * here changes what an auditor's `custos verify` accepts.
 */

/** §2.1 `v` of every body, §4.1 `user_version`, §4.2 bundle `version`. */
export const TRANSCRIPT_FORMAT_VERSION = 2 as const;

/** §2.1 prevHash of the first entry of every ceremony. */
export const GENESIS_HASH = "0".repeat(64);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type CeremonyMode = "rehearsal" | "production";
/** §3: derived from the entries: closed by the seal, aborted by an abort, else open. */
export type CeremonyStatus = "open" | "closed" | "aborted";

/** §6 entry actions that are not script steps. */
export const OPEN_ACTION = "open-ceremony";
export const ENROL_ACTION = "enrol-participants";
export const SEAL_ACTION = "seal-transcript";
export const EXCEPTION_ACTION = "exception";
export const DEVIATION_ACTION = "deviation";
export const ABORT_ACTION = "abort";
/** §6.4 actions whose outputs.rootKey gives the ceremony its root key (made, restored, or proved on the token). */
export const ROOT_KEY_ACTIONS: readonly string[] = ["generate-key-pair", "collect-shares-and-restore", "prove-root-key"];
/** Entries that are not script steps: they never move the step cursor. */
export const NON_STEP_ACTIONS: readonly string[] = [OPEN_ACTION, EXCEPTION_ACTION, DEVIATION_ACTION, ABORT_ACTION];

/** §3: one row of the `ceremonies` table / the bundle's `ceremony`; NOT signed, checked against the entries. */
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

/** §2.1: the hashed part of an entry. */
export interface EntryBody {
  v: typeof TRANSCRIPT_FORMAT_VERSION;
  ceremonyId: string;
  /** 1-based, contiguous. */
  seq: number;
  stepId: string;
  action: string;
  inputs: { [key: string]: Json };
  outputs: { [key: string]: Json };
  /** Participant ids Custos asked to attest this entry (each must sign; the script decides who else must). */
  requiredSigners: string[];
  /** §1: toISOString() form, UTC. */
  timestamp: string;
  /** entryHash of the previous entry, GENESIS_HASH for seq 1. */
  prevHash: string;
}

export type SignatureAlgorithm = "Ed25519" | "ECDSA-SHA256" | "ECDSA-SHA384" | "ECDSA-SHA512" | "RSA-PKCS1-SHA256";

/** §2.3: a signature over attestationMessage(bodyHash). */
export interface Signature {
  signer: string;
  kind: "participant" | "root-key";
  algorithm: SignatureAlgorithm;
  publicKey: string;
  signature: string;
}

/** An entry as stored: body text, hashes and signatures sorted as §2.3 demands. */
export interface StoredEntry {
  body: EntryBody;
  /** Exactly JCS(body), as stored in the database. */
  bodyJson: string;
  bodyHash: string;
  signatures: Signature[];
  entryHash: string;
}

/** §4.2: the self-contained export that `custos verify bundle.json` accepts. */
export interface Bundle {
  format: "custos-transcript-bundle";
  version: typeof TRANSCRIPT_FORMAT_VERSION;
  ceremony: CeremonyMeta;
  entries: Array<{ body: EntryBody; bodyHash: string; signatures: Signature[]; entryHash: string }>;
  /** entryHash of the last entry. */
  head: string;
}

/** §9 error codes. */
export type VerifyCode =
  | "HEADER_MALFORMED"
  | "SCRIPT_HASH_MISMATCH"
  | "SCRIPT_UNREADABLE"
  | "NO_ENTRIES"
  | "SEQUENCE"
  | "AFTER_CLOSE"
  | "BODY_NOT_CANONICAL"
  | "BODY_MALFORMED"
  | "BODY_MISMATCH"
  | "BODY_HASH_MISMATCH"
  | "CHAIN_BROKEN"
  | "SIGNATURES_MALFORMED"
  | "ENTRY_HASH_MISMATCH"
  | "SIGNATURE_INVALID"
  | "SIGNER_NOT_AUTHORISED"
  | "OUT_OF_ORDER"
  | "ACTION_MALFORMED"
  | "ATTESTATION_MISSING"
  | "HEADER_MISMATCH"
  | "HEAD_MISMATCH"
  | "BUNDLE_NOT_CANONICAL"
  | "BUNDLE_MALFORMED"
  | "SQLITE_SCHEMA"
  | "SQLITE_INTEGRITY"
  | "SQLITE_TYPES"
  | "ORPHAN_ENTRIES"
  | "REPORT_MISMATCH"
  | "REPORT_ATTACHMENTS"
  | "PIN_MISMATCH";

/** §7.6 verdict of one ceremony. */
export type Completeness = "complete" | "aborted" | "incomplete";

/** The first failed check (§7): its code, the entry it names (if any), and why, in words. */
export interface VerifyFailure {
  code: VerifyCode;
  seq?: number;
  stepId?: string;
  reason: string;
}

/** One pin (§10) and whether it held. */
export interface PinResult {
  pin: string;
  held: boolean;
  detail: string;
}

/** What the signed entries say about a ceremony (never the header's word). */
export interface CeremonyFacts {
  mode?: CeremonyMode;
  scriptId?: string;
  scriptVersion?: string;
  scriptTitle?: string;
  scriptSha256?: string;
  createdAt?: string;
  /** Number of script steps and how many were recorded. */
  stepsTotal?: number;
  stepsDone: number;
  exceptions: number;
  deviations: number;
  /** The enrolment is recorded: from there on every entry is signed. */
  signed: boolean;
  rootKeyFingerprint?: string;
  certificateSha256?: string;
  abortReason?: string;
}

/** Verdict for one ceremony. */
export interface CeremonyVerdict {
  ceremonyId: string;
  /** No check failed (§7.6 "intact"). */
  ok: boolean;
  completeness: Completeness;
  entries: number;
  head: string | null;
  failure?: VerifyFailure;
  facts: CeremonyFacts;
  pins: PinResult[];
  /** True when the signature checks ran on worker threads (diagnostic). */
  parallel?: boolean;
}

/** What the page check of a report found (§8). */
export interface ReportBinding {
  checked: boolean;
  /** Why the byte comparison was not possible, when it was not. */
  note?: string;
}

export interface VerifyResult {
  source: "sqlite" | "bundle" | "pdf";
  /** A file-level failure (schema, orphans, bundle form); ceremonies may still be listed. */
  fileFailure?: VerifyFailure;
  ceremonies: CeremonyVerdict[];
  report?: ReportBinding;
}

/**
 * One entries row exactly as stored, for the verifier: nothing parsed,
 * nothing trusted (SQLite columns are untyped). A bundle is verified through
 * the same shape.
 */
export interface RawEntry {
  seq: unknown;
  stepId: unknown;
  action: unknown;
  bodyJson: unknown;
  bodyHash: unknown;
  signaturesJson: unknown;
  entryHash: unknown;
}
