import { z } from "zod";
import { TRANSCRIPT_FORMAT_VERSION } from "./types";

/** Lower-case hex SHA-256. */
export const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a lower-case hex SHA-256");

/** Shape of EntryBody; strict, because an unknown key would be hashed but never checked. */
export const entryBodySchema = z.strictObject({
  v: z.literal(TRANSCRIPT_FORMAT_VERSION),
  ceremonyId: z.string().min(1),
  seq: z.number().int().positive(),
  stepId: z.string().min(1),
  action: z.string().min(1),
  inputs: z.record(z.string(), z.json()),
  outputs: z.record(z.string(), z.json()),
  requiredSigners: z.array(z.string().min(1)),
  timestamp: z.string().min(1),
  prevHash: hashSchema,
});

/** Shape of Signature. */
export const signatureSchema = z.strictObject({
  signer: z.string().min(1),
  kind: z.enum(["participant", "root-key"]),
  algorithm: z.enum(["Ed25519", "ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512", "RSA-PKCS1-SHA256"]),
  publicKey: z.string().min(1),
  signature: z.string().min(1),
});

/** Shape of CeremonyMeta. */
export const ceremonyMetaSchema = z.strictObject({
  id: z.string().min(1),
  scriptId: z.string(),
  scriptVersion: z.string(),
  scriptTitle: z.string(),
  scriptSha256: z.string(),
  scriptText: z.string(),
  mode: z.enum(["rehearsal", "production"]),
  status: z.enum(["open", "closed", "failed", "abandoned"]),
  createdAt: z.string(),
});

/** Shape of one participant in an enrol-participants entry's outputs.participants. */
export const enrolledParticipantSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  roles: z.array(z.string()),
  publicKey: z.string().min(1),
  kdf: z.object({
    algorithm: z.literal("scrypt"),
    N: z.number().int().positive(),
    r: z.number().int().positive(),
    p: z.number().int().positive(),
    salt: z.string().regex(/^[0-9a-f]{32}$/),
  }),
});

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
