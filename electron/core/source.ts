import fs from "node:fs";
import { CustosError } from "./errors";
import { extractBundleFromPdf } from "./report/extract";
import { parseBundle } from "./transcript/bundle";
import { SQLITE_MAGIC, TranscriptStore } from "./transcript/store";
import type { CeremonyMeta, CeremonyVerdict, EntryBody, Signature, VerifyResult } from "./transcript/types";
import { verifyFile } from "./transcript/verify";

/** Verifies a transcript database, a bundle, or a report PDF (through its attached bundle). */
export function verifyAnyFile(file: string): VerifyResult {
  return verifyFile(file, { extractBundleFromPdf: (pdf) => extractBundleFromPdf(Buffer.from(pdf)) });
}

/** A verified earlier ceremony, as a recovery, re-split or destruction reads it. */
export interface SourceTranscript {
  meta: CeremonyMeta;
  verdict: CeremonyVerdict;
  entries: Array<{ body: EntryBody; signatures: Signature[] }>;
}

/**
 * Reads an earlier ceremony from its database, bundle or report PDF, after
 * verifying it: a tampered source stops here, before anything else happens.
 * With several ceremonies in one database, the newest one that made a backup is used
 * unless ceremonyId is given.
 */
export function readVerifiedSource(file: string, ceremonyId?: string): SourceTranscript {
  const result = verifyAnyFile(file);
  let sources: Array<{ meta: CeremonyMeta; entries: Array<{ body: EntryBody; signatures: Signature[] }> }>;
  const head = fs.readFileSync(file).subarray(0, 16);
  if (head.equals(SQLITE_MAGIC)) {
    const store = TranscriptStore.openReadOnly(file);
    try {
      sources = store.listCeremonies().map((meta) => ({ meta, entries: store.entries(meta.id).map((e) => ({ body: e.body, signatures: e.signatures })) }));
    } finally {
      store.close();
    }
  } else {
    const text = head.subarray(0, 5).toString("latin1") === "%PDF-" ? extractBundleFromPdf(fs.readFileSync(file)) : fs.readFileSync(file, "utf8");
    if (!text) throw new CustosError("SOURCE_UNREADABLE", `${file} carries no transcript bundle.`, "Use the original transcript database, its bundle.json or its report PDF.");
    const b = parseBundle(text);
    sources = [{ meta: b.ceremony, entries: b.entries.map((e) => ({ body: e.body, signatures: e.signatures })) }];
  }
  const withBackup = sources.filter((s) => s.entries.some((e) => e.body.outputs.backup && e.body.outputs.shares));
  const chosen = ceremonyId ? sources.find((s) => s.meta.id === ceremonyId) : withBackup[withBackup.length - 1];
  if (!chosen) {
    throw new CustosError(
      "SOURCE_NO_BACKUP",
      ceremonyId ? `${file} holds no ceremony ${ceremonyId}.` : `${file} holds no ceremony that made a backup.`,
      "Choose the transcript of the generation (or last re-split) ceremony of this key.",
    );
  }
  const verdict = result.ceremonies.find((c) => c.ceremonyId === chosen.meta.id);
  if (!verdict || !verdict.ok) {
    const why = verdict?.firstBad ? `entry ${verdict.firstBad.seq} (step '${verdict.firstBad.stepId}'): ${verdict.firstBad.reason}` : (verdict?.problems.join("; ") ?? "not verifiable");
    throw new CustosError("SOURCE_TAMPERED", `The source transcript ${file} does not verify: ${why}.`, "Stop: a tampered or damaged source cannot be trusted. Use an intact copy (another archive of the bundle or report).");
  }
  return { meta: chosen.meta, verdict, entries: chosen.entries };
}
