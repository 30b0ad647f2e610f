import fs from "node:fs";
import { CustosError } from "./errors";
import { checkReportBinding, extractReportBundle } from "./report/binding";
import { parseBundle } from "./transcript/bundle";
import { sha256Hex } from "./transcript/canonical";
import { SQLITE_MAGIC, TranscriptStore } from "./transcript/store";
import { ROOT_KEY_ACTIONS, type CeremonyMeta, type CeremonyVerdict, type EntryBody, type Signature, type VerifyResult } from "./transcript/types";
import { describeFailure, exitStatus, readEvidence, verifyFile, type PdfHooks, type VerifyOptions } from "./transcript/verify/index";
import { namingOriginal, withEvidenceSnapshot } from "./files/snapshot";

/** The report module's side of `custos verify report.pdf` (§8). */
export const PDF_HOOKS: PdfHooks = {
  extractBundle: (pdf) => extractReportBundle(pdf),
  checkBinding: (pdf, bundleText) => checkReportBinding(pdf, bundleText),
};

/**
 * Verifies a transcript database, a bundle, or a report PDF (its attached
 * bundle, and its pages against Custos's rendering of that bundle).
 */
export function verifyAnyFile(file: string, o: Omit<VerifyOptions, "pdf"> = {}): Promise<VerifyResult> {
  return verifyFile(file, { ...o, pdf: PDF_HOOKS });
}

/** A verified, complete earlier ceremony, as a recovery, re-split or destruction reads it. */
export interface SourceTranscript {
  meta: CeremonyMeta;
  verdict: CeremonyVerdict;
  entries: Array<{ body: EntryBody; signatures: Signature[] }>;
  /** SHA-256 (hex) of the file's bytes as verified (the private copy's), for the entry that records the source. */
  fileSha256: string;
}

/** Ceremonies of a file that verified, read back (the file is read again as evidence, never opened for writing). */
function readCeremonies(file: string): Array<{ meta: CeremonyMeta; entries: Array<{ body: EntryBody; signatures: Signature[] }> }> {
  const bytes = readEvidence(file);
  if (bytes.subarray(0, 16).equals(SQLITE_MAGIC)) {
    const store = TranscriptStore.openReadOnly(file);
    try {
      return store.listCeremonies().map((meta) => ({ meta, entries: store.entries(meta.id).map((e) => ({ body: e.body, signatures: e.signatures })) }));
    } finally {
      store.close();
    }
  }
  const isPdf = bytes.subarray(0, 5).toString("latin1") === "%PDF-";
  const extracted = isPdf ? extractReportBundle(bytes) : { bundle: bytes };
  if ("failure" in extracted) throw new CustosError("SOURCE_UNREADABLE", `${file}: ${extracted.failure.reason}`, "Use the original transcript database, its bundle.json or its report PDF.");
  const b = parseBundle(extracted.bundle.toString("utf8"));
  return [{ meta: b.ceremony, entries: b.entries.map((e) => ({ body: e.body, signatures: e.signatures })) }];
}

/**
 * Reads an earlier ceremony from its database, bundle or report PDF, after
 * verifying it: a tampered, unfinished or aborted source stops here, before
 * anything else happens. With several ceremonies in one database, the newest
 * one that made a backup is used unless ceremonyId is given.
 */
export async function readVerifiedSource(file: string, ceremonyId?: string, pick: "backup" | "root-key" = "backup", hooks: SourceHooks = {}): Promise<SourceTranscript> {
  // Verified and read back from one private copy: the file cannot change between the two.
  return withEvidenceSnapshot(file, async (copy) => {
    const result = await verifyAnyFile(copy);
    await hooks.afterVerify?.();
    const chosen = chooseSource(file, result, () => readCeremonies(copy), ceremonyId, pick);
    return { ...chosen, fileSha256: sha256Hex(fs.readFileSync(copy)) };
  });
}

/**
 * The transcript viewer's read: the file's verdict and, when the chosen
 * ceremony (the first one unless named) is intact, its entries — complete or
 * not, since an auditor reads interrupted ceremonies too. Entries of a ceremony
 * that is not intact are never offered; `error` says why. Both come from one
 * private copy, so the verdict on screen is about the entries on screen even if
 * the file is swapped meanwhile.
 */
export async function readForViewer(
  file: string,
  ceremonyId?: string,
  hooks: SourceHooks = {},
): Promise<{ verdict: VerifyResult; source?: { meta: CeremonyMeta; entries: SourceTranscript["entries"] }; error?: string }> {
  return withEvidenceSnapshot(file, async (copy) => {
    const verdict = await verifyAnyFile(copy);
    await hooks.afterVerify?.();
    // The verdict shown beside says what failed; this says only why nothing is listed.
    if (verdict.fileFailure) return { verdict, error: "Its entries are not shown: the file does not verify (see the verdict)." };
    const id = ceremonyId ?? verdict.ceremonies[0]?.ceremonyId;
    const v = verdict.ceremonies.find((c) => c.ceremonyId === id);
    if (!v) return { verdict, error: id === undefined ? "The file holds no ceremony." : "The file holds no ceremony with that id." };
    if (!v.ok) return { verdict, error: "Its entries are not shown: the ceremony is not intact (see the verdict)." };
    try {
      const chosen = readCeremonies(copy).find((c) => c.meta.id === id);
      if (!chosen) return { verdict, error: "The ceremony that verified could not be read back." };
      return { verdict, source: chosen };
    } catch (e) {
      return { verdict, error: namingOriginal(e, copy, file) };
    }
  });
}

/** For tests: a moment between the verification and the reading back (to change the file there). */
export interface SourceHooks {
  afterVerify?: () => void | Promise<void>;
}

function chooseSource(
  file: string,
  result: VerifyResult,
  readBack: () => ReturnType<typeof readCeremonies>,
  ceremonyId: string | undefined,
  pick: "backup" | "root-key",
): Omit<SourceTranscript, "fileSha256"> {
  if (result.fileFailure) {
    throw new CustosError("SOURCE_TAMPERED", `The source transcript ${file} does not verify: ${describeFailure(result.fileFailure)}`, "Stop: a tampered or damaged source cannot be trusted. Use an intact copy (another archive of the bundle or report).");
  }
  const sources = readBack();
  // A recovery, re-split or destruction needs the ceremony that made the backup; a signing ceremony
  // the one that put the root key on a token (a generation or a recovery).
  const fits = (s: (typeof sources)[number]) =>
    pick === "backup"
      ? s.entries.some((e) => e.body.outputs.backup && e.body.outputs.shares)
      : s.entries.some((e) => ROOT_KEY_ACTIONS.includes(e.body.action) && e.body.outputs.rootKey);
  const candidates = sources.filter(fits);
  const chosen = ceremonyId ? sources.find((s) => s.meta.id === ceremonyId) : candidates[candidates.length - 1];
  if (!chosen) {
    throw new CustosError(
      "SOURCE_NO_BACKUP",
      ceremonyId ? `${file} holds no ceremony ${ceremonyId}.` : `${file} holds no ceremony that ${pick === "backup" ? "made a backup" : "generated or restored a root key"}.`,
      pick === "backup" ? "Choose the transcript of the generation (or last re-split) ceremony of this key." : "Choose the transcript of the generation (or recovery) ceremony that put this root key on its token.",
    );
  }
  const verdict = result.ceremonies.find((c) => c.ceremonyId === chosen.meta.id);
  if (!verdict || !verdict.ok) {
    const why = verdict?.failure ? describeFailure(verdict.failure) : "not verifiable";
    throw new CustosError("SOURCE_TAMPERED", `The source transcript ${file} does not verify: ${why}`, "Stop: a tampered or damaged source cannot be trusted. Use an intact copy (another archive of the bundle or report).");
  }
  if (exitStatus({ ...result, ceremonies: [verdict] }) !== 0) {
    throw new CustosError(
      "SOURCE_INCOMPLETE",
      `The source ceremony ${chosen.meta.id} is ${verdict.completeness === "aborted" ? "aborted" : "not complete (it was never sealed)"}.`,
      "Only a sealed ceremony can be the source of a recovery, re-split or destruction. Choose the sealed transcript of the generation (or last re-split).",
    );
  }
  return { meta: chosen.meta, verdict, entries: chosen.entries };
}
