/**
 * §7.2 checks 1–9 of one stored entry: its position, the exact stored text,
 * the hashes and the chain. Nothing here trusts a stored value before it has
 * been checked; every failure is a VerifyFailure, never an exception.
 */
import { isCanonicalOfParsed, sha256Hex } from "../canonical";
import { CEREMONY_ID_RE, HASH_RE, ID_RE, PARTICIPANT_ID_RE, entryBodySchema, firstIssue, firstNonIntegerPath, isTimestamp, signatureSchema } from "../schema";
import { TRANSCRIPT_FORMAT_VERSION } from "../types";
import type { EntryBody, RawEntry, Signature, VerifyCode, VerifyFailure } from "../types";

/** An entry whose stored form passed checks 1–9. */
export interface FormedEntry {
  seq: number;
  body: EntryBody;
  bodyHash: string;
  signatures: Signature[];
  entryHash: string;
}

function short(hash: unknown): string {
  return typeof hash === "string" ? `${hash.slice(0, 12)}…` : String(hash);
}

const BODY_KEYS = ["action", "ceremonyId", "inputs", "outputs", "prevHash", "requiredSigners", "seq", "stepId", "timestamp", "v"];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** No string twice in the list; a short list (the usual two or three signers) without allocating a Set. */
function noDuplicates(list: readonly unknown[]): boolean {
  if (list.length > 16) return new Set(list).size === list.length;
  for (let k = 1; k < list.length; k++) if (list.lastIndexOf(list[k], k - 1) >= 0) return false;
  return true;
}

/** §2.1 in plain code (the hot path); zod names the problem only when this says no. */
function bodyLooksRight(b: unknown): boolean {
  if (!isPlainObject(b)) return false;
  const keys = Object.keys(b);
  if (keys.length !== BODY_KEYS.length || !BODY_KEYS.every((k) => Object.prototype.hasOwnProperty.call(b, k))) return false;
  const signers = b.requiredSigners;
  return (
    b.v === TRANSCRIPT_FORMAT_VERSION &&
    typeof b.ceremonyId === "string" &&
    CEREMONY_ID_RE.test(b.ceremonyId) &&
    typeof b.seq === "number" &&
    Number.isSafeInteger(b.seq) &&
    b.seq > 0 &&
    typeof b.stepId === "string" &&
    ID_RE.test(b.stepId) &&
    typeof b.action === "string" &&
    ID_RE.test(b.action) &&
    isPlainObject(b.inputs) &&
    isPlainObject(b.outputs) &&
    Array.isArray(signers) &&
    signers.every((x) => typeof x === "string" && PARTICIPANT_ID_RE.test(x)) &&
    noDuplicates(signers) &&
    isTimestamp(b.timestamp) &&
    typeof b.prevHash === "string" &&
    HASH_RE.test(b.prevHash)
  );
}

const SIGNATURE_KEYS = ["algorithm", "kind", "publicKey", "signature", "signer"];
const ROOT_ALGORITHMS = new Set(["ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512", "RSA-PKCS1-SHA256"]);
const PARTICIPANT_ALGORITHMS = new Set(["Ed25519", "ECDSA-SHA256", "ECDSA-SHA384"]);

function signatureLooksRight(s: unknown): boolean {
  if (!isPlainObject(s)) return false;
  const keys = Object.keys(s);
  return (
    keys.length === 5 &&
    SIGNATURE_KEYS.every((k) => typeof s[k] === "string" && (s[k] as string).length > 0) &&
    ((s.kind === "participant" && PARTICIPANT_ALGORITHMS.has(s.algorithm as string)) || (s.kind === "root-key" && s.signer === "root-key" && ROOT_ALGORITHMS.has(s.algorithm as string)))
  );
}

/** What parseJson returns for text that is not JSON (no JSON text parses to it). */
const NOT_JSON: unique symbol = Symbol("not JSON");

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

function failAt(row: RawEntry, i: number, code: VerifyCode, reason: string, stepId: unknown = row.stepId): { failure: VerifyFailure } {
  return { failure: { code, seq: i, ...(typeof stepId === "string" && stepId ? { stepId } : {}), reason } };
}

function signaturesMalformed(row: RawEntry, i: number, stepId: string, reason: string): { failure: VerifyFailure } {
  return failAt(row, i, "SIGNATURES_MALFORMED", reason, stepId);
}

/** Code-unit order (§2.3), not localeCompare: the order must not depend on the machine's locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks 1–9 of §7.2 for row i (1-based), given the previous entry's hash.
 * `closedAt` is the seq of an earlier seal or abort, if any.
 */
export function checkEntryForm(
  row: RawEntry,
  i: number,
  prevHash: string,
  prevTimestamp: string | undefined,
  ceremonyId: string,
  closedAt: { seq: number; action: string } | undefined,
  source: "sqlite" | "bundle",
): { entry: FormedEntry } | { failure: VerifyFailure } {
  // 1. position
  if (row.seq !== i) {
    const s = row.seq;
    if (typeof s !== "number" || !Number.isSafeInteger(s)) return failAt(row, i, "SEQUENCE", `the entry stored at position ${i} has no valid sequence number (${JSON.stringify(s) ?? String(s)}).`);
    if (s > i) return failAt(row, i, "SEQUENCE", `entry ${i} is missing: ${i === 1 ? "the transcript starts" : `after entry ${i - 1} the transcript continues`} with entry ${s}.`);
    return failAt(row, i, "SEQUENCE", `expected entry ${i} here but found an entry numbered ${s} (entries duplicated or out of order).`);
  }
  // 2. nothing after the close
  if (closedAt) {
    return failAt(row, i, "AFTER_CLOSE", `the entry was added after the ceremony was ${closedAt.action === "abort" ? "aborted" : "sealed"} at entry ${closedAt.seq}.`);
  }
  // 3. the stored body text, byte for byte
  if (typeof row.bodyJson !== "string") return failAt(row, i, "BODY_NOT_CANONICAL", "the stored body is not text.");
  const parsed = parseJson(row.bodyJson);
  if (parsed === NOT_JSON) return failAt(row, i, "BODY_NOT_CANONICAL", "the stored body is not valid JSON (it was edited or damaged).");
  if (!isCanonicalOfParsed(parsed, row.bodyJson)) {
    return failAt(row, i, "BODY_NOT_CANONICAL", "the stored body is not in RFC 8785 canonical form, so it is not the text that was hashed (it was edited).");
  }
  // 4. the body's members and types
  if (!bodyLooksRight(parsed)) {
    const shape = entryBodySchema.safeParse(parsed);
    return failAt(row, i, "BODY_MALFORMED", shape.success ? "the body does not have the members and types of §2.1." : `the body is malformed at ${firstIssue(shape.error)}.`);
  }
  const nonInteger = firstNonIntegerPath(parsed);
  if (nonInteger) return failAt(row, i, "BODY_MALFORMED", `the body holds a number that is not a whole number at ${nonInteger} (§1: integers only).`);
  const body = parsed as EntryBody;
  // 5. the body against its position, ceremony and stored columns
  if (body.seq !== i) return failAt(row, i, "BODY_MISMATCH", `the entry is stored as entry ${i} but its hashed body says ${body.seq}.`, body.stepId);
  if (body.ceremonyId !== ceremonyId) return failAt(row, i, "BODY_MISMATCH", `the body belongs to ceremony '${body.ceremonyId}', not '${ceremonyId}'.`, body.stepId);
  if (source === "sqlite") {
    if (row.stepId !== body.stepId) return failAt(row, i, "BODY_MISMATCH", `the stored step column says '${String(row.stepId)}' but the hashed body says '${body.stepId}'.`, body.stepId);
    if (row.action !== body.action) return failAt(row, i, "BODY_MISMATCH", `the stored action column says '${String(row.action)}' but the hashed body says '${body.action}'.`, body.stepId);
  }
  if (prevTimestamp !== undefined && body.timestamp < prevTimestamp) {
    return failAt(row, i, "BODY_MISMATCH", `the entry is dated ${body.timestamp}, before entry ${i - 1} (${prevTimestamp}): times never go backwards.`, body.stepId);
  }
  // 6. body hash
  const hashOfBody = sha256Hex(row.bodyJson);
  if (row.bodyHash !== hashOfBody) return failAt(row, i, "BODY_HASH_MISMATCH", `the stored body hash ${short(row.bodyHash)} is not the SHA-256 of the body (${short(hashOfBody)}).`, body.stepId);
  // 7. the chain
  if (body.prevHash !== prevHash) {
    return failAt(
      row,
      i,
      "CHAIN_BROKEN",
      i === 1
        ? "the first entry does not start the chain (its previous hash is not the genesis hash)."
        : `the chain is broken: the entry points at ${short(body.prevHash)} but entry ${i - 1} hashes to ${short(prevHash)}.`,
      body.stepId,
    );
  }
  // 8. the stored signatures
  if (typeof row.signaturesJson !== "string") return signaturesMalformed(row, i, body.stepId, "the stored signatures are not text.");
  const sigs = parseJson(row.signaturesJson);
  if (!Array.isArray(sigs)) return signaturesMalformed(row, i, body.stepId, "the stored signatures are not a JSON list (they were edited or damaged).");
  if (!isCanonicalOfParsed(sigs, row.signaturesJson)) return signaturesMalformed(row, i, body.stepId, "the stored signatures are not in canonical form (they were edited).");
  for (const [k, s] of sigs.entries()) {
    if (signatureLooksRight(s)) continue;
    const r = signatureSchema.safeParse(s);
    return signaturesMalformed(row, i, body.stepId, r.success ? `signature ${k + 1} does not have the form of §2.3.` : `signature ${k + 1} is malformed at ${firstIssue(r.error)}.`);
  }
  const signatures = sigs as Signature[];
  for (let k = 1; k < signatures.length; k++) {
    const a = signatures[k - 1]!;
    const b = signatures[k]!;
    const order = compareText(a.signer, b.signer) || compareText(a.kind, b.kind);
    if (order === 0) return signaturesMalformed(row, i, body.stepId, `it carries two ${b.kind} signatures from '${b.signer}'.`);
    if (order > 0) return signaturesMalformed(row, i, body.stepId, "the signatures are not sorted by signer and kind (§2.3).");
  }
  // 9. entry hash: JCS({bodyHash, signatures}) is exactly this text, the signatures text being canonical (check 8).
  const recomputed = sha256Hex(`{"bodyHash":"${hashOfBody}","signatures":${row.signaturesJson}}`);
  if (row.entryHash !== recomputed) {
    return failAt(row, i, "ENTRY_HASH_MISMATCH", `the stored entry hash ${short(row.entryHash)} does not match the body and signatures (${short(recomputed)}).`, body.stepId);
  }
  return { entry: { seq: i, body, bodyHash: hashOfBody, signatures, entryHash: recomputed } };
}
