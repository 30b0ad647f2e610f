import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { CustosError } from "./errors";
import { extractBundleFromPdf } from "./report/extract";
import { parseBundle } from "./transcript/bundle";
import { SQLITE_MAGIC, TranscriptStore } from "./transcript/store";
import type { CeremonyMeta, CeremonyVerdict, EntryBody, Signature, VerifyResult } from "./transcript/types";
import { verifyFile } from "./transcript/verify";

/**
 * Verifies a transcript database, a bundle, or a report PDF. For a PDF the
 * attached bundle is verified, and the head hash printed on the pages must be
 * the attached bundle's head: swapping the attachment for another intact
 * bundle is caught here.
 */
export function verifyAnyFile(file: string): VerifyResult & { printedHead?: "match" | "mismatch" | "unchecked" } {
  const r = verifyFile(file, { extractBundleFromPdf: (pdf) => extractBundleFromPdf(Buffer.from(pdf)) });
  if (r.source !== "pdf") return r;
  const printed = printedHeads(file);
  if (printed === null) return { ...r, printedHead: "unchecked" };
  const heads = r.ceremonies.map((c) => c.head ?? "");
  // A shortened footer hash must be a prefix of the real head.
  const wrong = printed.filter((h) => !heads.some((x) => x.startsWith(h)));
  if (printed.length > 0 && wrong.length === 0) return { ...r, printedHead: "match" };
  const problem =
    printed.length === 0
      ? "no head hash is printed on the report's pages"
      : `the head hash printed on the report (${wrong[0]!.slice(0, 16)}…) is not the head of the attached bundle (${heads[0]?.slice(0, 16) || "none"}…): the attachment or the pages were changed`;
  return {
    ...r,
    ok: false,
    printedHead: "mismatch",
    ceremonies: r.ceremonies.map((c) => ({ ...c, ok: false, problems: [...c.problems, problem] })),
  };
}

/**
 * Head hashes printed on a report's pages, read with poppler's pdftotext (an
 * independent reader, not our own parser); null when pdftotext is missing.
 */
export function printedHeads(file: string): string[] | null {
  const r = spawnSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) return null;
  // The cover and the verification page print "Transcript head hash <64 hex>"; every footer starts
  // with "head <hex>" (full on page 1, shortened after). Entry values such as report.head are not matched.
  const out = new Set<string>();
  for (const m of r.stdout.matchAll(/^\s*(?:Transcript head hash|head)\s+([0-9a-f]{16,64})/gim)) out.add(m[1]!.toLowerCase());
  return [...out];
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
