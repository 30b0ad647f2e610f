/** The transcript: canonical JSON, attestation keys, hash chain, SQLite store, bundles and verification (docs/transcript-format.md). */
export * from "./types";
export { canonicalJson, sha256Hex } from "./canonical";
export { decodeBase64Strict } from "./base64";
export {
  MIN_PASSPHRASE_LENGTH,
  deriveAttestationKey,
  ed25519PublicKeyFromRaw,
  keyFingerprint,
  newKdfParams,
  verifyEd25519,
  type AttestationKey,
  type KdfParams,
} from "./identity";
export { ATTESTATION_CONTEXT, attestationMessage, bodyHash, entryHash, sortSignatures, verifySignature } from "./chain";
export { CUSTOS_APPLICATION_ID, LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from "./migrations";
export { SQLITE_MAGIC, TranscriptStore } from "./store";
export { BUNDLE_FORMAT, bundleSchema, bundleToJson, exportBundle, parseBundle } from "./bundle";
export { describeFailure, exitStatus, verifyCeremony, verifyFile, type PdfHooks, type Pins, type VerifyOptions } from "./verify/index";
