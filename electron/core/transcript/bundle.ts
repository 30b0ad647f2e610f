import { z } from "zod";
import { CustosError } from "../errors";
import { ceremonyMetaSchema, entryBodySchema, firstIssue, signatureSchema } from "./schema";
import type { TranscriptStore } from "./store";
import { GENESIS_HASH, TRANSCRIPT_FORMAT_VERSION, type Bundle, type EntryBody, type Json, type Signature } from "./types";

/** Value of Bundle.format. */
export const BUNDLE_FORMAT = "custos-transcript-bundle" as const;

/** Strict bundle schema: what parseBundle accepts. */
export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(TRANSCRIPT_FORMAT_VERSION),
  ceremony: ceremonyMetaSchema,
  entries: z.array(
    z.strictObject({
      body: entryBodySchema,
      bodyHash: z.string(),
      signatures: z.array(signatureSchema),
      entryHash: z.string(),
    }),
  ),
  head: z.string(),
  exportedAt: z.string(),
});

/** Envelope-only bundle schema for the verifier, so a damaged entry is named by verifyCeremony rather than refused here. */
export const looseBundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(TRANSCRIPT_FORMAT_VERSION),
  ceremony: ceremonyMetaSchema,
  entries: z.array(
    z.object({
      body: z.unknown(),
      bodyHash: z.unknown(),
      signatures: z.unknown(),
      entryHash: z.unknown(),
    }),
  ),
  head: z.string(),
  exportedAt: z.string(),
});

/** One bundle entry as the verifier sees it before checking. */
export type LooseBundleEntry = z.infer<typeof looseBundleSchema>["entries"][number];

/** Builds the self-contained bundle of one ceremony (its entries exactly as stored, parsed). */
export function exportBundle(store: TranscriptStore, ceremonyId: string, exportedAt: string = new Date().toISOString()): Bundle {
  const ceremony = store.getCeremony(ceremonyId);
  if (!ceremony) {
    throw new CustosError("CEREMONY_NOT_FOUND", `There is no ceremony ${ceremonyId} in this transcript.`, "Check the ceremony id.");
  }
  const entries = store.entries(ceremonyId).map((e) => ({
    body: e.body,
    bodyHash: e.bodyHash,
    signatures: e.signatures,
    entryHash: e.entryHash,
  }));
  const last = entries[entries.length - 1];
  return {
    format: BUNDLE_FORMAT,
    version: TRANSCRIPT_FORMAT_VERSION,
    ceremony,
    entries,
    head: last ? last.entryHash : GENESIS_HASH,
    exportedAt,
  };
}

function sortKeysDeep(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      // defineProperty: a JSON "__proto__" key is data here, and assignment would make it a prototype.
      Object.defineProperty(out, key, { value: sortKeysDeep(value[key] as Json), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

function orderedBody(b: EntryBody): Record<string, unknown> {
  return {
    v: b.v,
    ceremonyId: b.ceremonyId,
    seq: b.seq,
    stepId: b.stepId,
    action: b.action,
    timestamp: b.timestamp,
    prevHash: b.prevHash,
    requiredSigners: b.requiredSigners,
    inputs: sortKeysDeep(b.inputs),
    outputs: sortKeysDeep(b.outputs),
  };
}

function orderedSignature(s: Signature): Record<string, unknown> {
  return { signer: s.signer, kind: s.kind, algorithm: s.algorithm, publicKey: s.publicKey, signature: s.signature };
}

/** Pretty JSON with a fixed key order, so two exports of the same ceremony are byte-identical (given exportedAt). */
export function bundleToJson(b: Bundle): string {
  const c = b.ceremony;
  const ordered = {
    format: b.format,
    version: b.version,
    exportedAt: b.exportedAt,
    head: b.head,
    ceremony: {
      id: c.id,
      scriptId: c.scriptId,
      scriptVersion: c.scriptVersion,
      scriptTitle: c.scriptTitle,
      scriptSha256: c.scriptSha256,
      mode: c.mode,
      status: c.status,
      createdAt: c.createdAt,
      scriptText: c.scriptText,
    },
    entries: b.entries.map((e) => ({
      body: orderedBody(e.body),
      bodyHash: e.bodyHash,
      signatures: e.signatures.map(orderedSignature),
      entryHash: e.entryHash,
    })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Parses and validates bundle JSON; BUNDLE_MALFORMED names the path of the first bad field. */
export function parseBundle(text: string): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (cause) {
    throw new CustosError("BUNDLE_MALFORMED", `The bundle is not valid JSON: ${(cause as Error).message}.`, "Use the bundle.json file Custos exported, unmodified.", { cause });
  }
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success) {
    throw new CustosError("BUNDLE_MALFORMED", `The bundle is malformed at ${firstIssue(parsed.error)}.`, "Use the bundle.json file Custos exported, unmodified.");
  }
  // The validated input itself, not zod's copy: a copy would drop a JSON "__proto__" key and change the hash.
  return json as Bundle;
}
