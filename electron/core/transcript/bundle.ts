/**
 * §4.2 the bundle: the self-contained export an auditor receives and the PDF
 * report carries. The file is exactly JCS(bundle) + "\n", so two exports of
 * the same ceremony are byte-identical and any re-encoding is detected.
 */
import { z } from "zod";
import { CustosError } from "../errors";
import { canonicalJson } from "./canonical";
import { ceremonyMetaSchema, entryBodySchema, firstIssue, signatureSchema } from "./schema";
import type { TranscriptStore } from "./store";
import { GENESIS_HASH, TRANSCRIPT_FORMAT_VERSION, type Bundle } from "./types";

/** Value of Bundle.format. */
export const BUNDLE_FORMAT = "custos-transcript-bundle" as const;

/** Strict bundle schema: what parseBundle accepts (the verifier reads more loosely to name what is wrong). */
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
});

/** Builds the bundle of one ceremony, its entries exactly as stored. */
export function exportBundle(store: TranscriptStore, ceremonyId: string): Bundle {
  const ceremony = store.getCeremony(ceremonyId);
  if (!ceremony) {
    throw new CustosError("CEREMONY_NOT_FOUND", `There is no ceremony ${ceremonyId} in this transcript.`, "Check the ceremony id.");
  }
  const entries = store.entries(ceremonyId).map((e) => ({ body: e.body, bodyHash: e.bodyHash, signatures: e.signatures, entryHash: e.entryHash }));
  const last = entries[entries.length - 1];
  return { format: BUNDLE_FORMAT, version: TRANSCRIPT_FORMAT_VERSION, ceremony, entries, head: last ? last.entryHash : GENESIS_HASH };
}

/** §4.2: the bundle file's exact text. */
export function bundleToJson(b: Bundle): string {
  return `${canonicalJson(b)}\n`;
}

/** Parses a bundle that has already been verified (or that the caller only reads); BUNDLE_MALFORMED names the first bad field. */
export function parseBundle(text: string): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
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
