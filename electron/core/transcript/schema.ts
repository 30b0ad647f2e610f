import { z } from "zod";
import { TRANSCRIPT_FORMAT_VERSION } from "./types";

/** §1 lower-case hex SHA-256. */
export const HASH_RE = /^[0-9a-f]{64}$/;
/** §1 step and role ids. */
export const ID_RE = /^[a-z][a-z0-9-]{0,63}$/;
/** §1 participant ids. */
export const PARTICIPANT_ID_RE = /^p[0-9]{2,3}$/;
/** §1 timestamps. */
export const TIMESTAMP_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
/** §2.1 a ceremony id: non-empty, no control characters, at most 100 characters (it must fit one printed line, §8). */
// eslint-disable-next-line no-control-regex
export const CEREMONY_ID_RE = /^[^\u0000-\u001f\u007f-\u009f]{1,100}$/u;

export const hashSchema = z.string().regex(HASH_RE, "expected a lower-case hex SHA-256");

/** The number written by `len` ASCII digits of `v` from `at`. */
function digits(v: string, at: number, len: number): number {
  let x = 0;
  for (let k = at; k < at + len; k++) x = x * 10 + (v.charCodeAt(k) - 48);
  return x;
}

/** §1: a real instant written as toISOString() writes it. */
export function isTimestamp(v: unknown): v is string {
  if (typeof v !== "string" || !TIMESTAMP_RE.test(v)) return false;
  // The fields by position (the pattern fixed them); a real instant is what toISOString() would print back:
  // month 1–12, a day the month has (proleptic Gregorian, as Date), hours 0–23, minutes and seconds 0–59.
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  if (month < 1 || month > 12 || day < 1 || digits(v, 11, 2) > 23 || digits(v, 14, 2) > 59 || digits(v, 17, 2) > 59) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
}

/**
 * §1 "integers only": the first path in a JSON value holding a number that is
 * not a safe integer, or undefined. Such numbers would print differently in
 * different JCS implementations, so an auditor's verifier could not agree.
 */
export function firstNonIntegerPath(value: unknown): string | undefined {
  const at = nonIntegerAt(value);
  if (!at) return undefined;
  let path = "";
  for (let k = at.length - 1; k >= 0; k--) {
    const step = at[k]!;
    path = typeof step === "number" ? `${path}[${step}]` : path ? `${path}.${step}` : step;
  }
  return path || "(value)";
}

/** The path to the first non-integer number, innermost step first (built only when there is one), or undefined. */
function nonIntegerAt(value: unknown): Array<string | number> | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? undefined : [];
  if (value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = nonIntegerAt(value[i]);
      if (p) return (p.push(i), p);
    }
    return undefined;
  }
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const p = nonIntegerAt((value as Record<string, unknown>)[k]);
    if (p) return (p.push(k), p);
  }
  return undefined;
}

const timestampSchema = z.string().refine(isTimestamp, "expected an ISO 8601 UTC time as toISOString() writes it");

/** §2.1 shape of a body; strict, because an unknown member would be hashed but never checked. */
export const entryBodySchema = z.strictObject({
  v: z.literal(TRANSCRIPT_FORMAT_VERSION),
  ceremonyId: z.string().regex(CEREMONY_ID_RE, "expected a ceremony id without control characters"),
  seq: z.number().int().positive(),
  stepId: z.string().regex(ID_RE, "expected a step id"),
  action: z.string().regex(ID_RE, "expected an action name"),
  inputs: z.record(z.string(), z.json()),
  outputs: z.record(z.string(), z.json()),
  requiredSigners: z
    .array(z.string().regex(PARTICIPANT_ID_RE, "expected a participant id"))
    .refine((a) => new Set(a).size === a.length, "lists a participant twice"),
  timestamp: timestampSchema,
  prevHash: hashSchema,
});

/** §2.3 shape of a signature: a participant signs with Ed25519 or, from their own token, ECDSA; the root key is "root-key" with a root algorithm. */
export const signatureSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    signer: z.string().min(1),
    kind: z.literal("participant"),
    algorithm: z.enum(["Ed25519", "ECDSA-SHA256", "ECDSA-SHA384"]),
    publicKey: z.string().min(1),
    signature: z.string().min(1),
  }),
  z.strictObject({
    signer: z.literal("root-key"),
    kind: z.literal("root-key"),
    algorithm: z.enum(["ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512", "RSA-PKCS1-SHA256"]),
    publicKey: z.string().min(1),
    signature: z.string().min(1),
  }),
]);

/** §3 shape of the header. */
export const ceremonyMetaSchema = z.strictObject({
  id: z.string().regex(CEREMONY_ID_RE, "expected a ceremony id without control characters"),
  scriptId: z.string(),
  scriptVersion: z.string(),
  scriptTitle: z.string(),
  scriptSha256: z.string(),
  scriptText: z.string(),
  mode: z.enum(["rehearsal", "production"]),
  status: z.enum(["open", "closed", "aborted"]),
  createdAt: z.string(),
});

const participantCommon = {
  id: z.string().regex(PARTICIPANT_ID_RE, "expected a participant id (p01, p02, …)"),
  name: z.string().min(1),
  roles: z
    .array(z.string().regex(ID_RE))
    .min(1)
    .refine((a) => new Set(a).size === a.length, "lists a role twice"),
  publicKey: z.string().min(1),
  sourceId: z.string().min(1).optional(),
};

/** §6.3 one enrolled participant: a passphrase key (kdf) or a key on their own token (token), never both. */
export const enrolledParticipantSchema = z.union([
  z.strictObject({
    ...participantCommon,
    kdf: z.strictObject({
      algorithm: z.literal("scrypt"),
      N: z.number().int().positive(),
      r: z.number().int().positive(),
      p: z.number().int().positive(),
      salt: z.string().regex(/^[0-9a-f]{32}$/),
    }),
  }),
  z.strictObject({
    ...participantCommon,
    token: z.strictObject({
      serial: z.string(),
      label: z.string(),
      model: z.string(),
      algorithm: z.enum(["ECDSA-SHA256", "ECDSA-SHA384"]),
    }),
  }),
]);

/** "entries[3].body.seq" from a zod issue path. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(top level)";
}

/** First issue of a failed parse as "path: message". */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  return `${formatIssuePath(issue.path)}: ${issue.message}`;
}
