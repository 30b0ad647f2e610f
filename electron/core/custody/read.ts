/**
 * Finds the transcripts the register is given (folders or files), verifies
 * each with the auditor's verifier (docs/transcript-format.md §7) and reads
 * back the entries of every ceremony that is intact. Nothing is written; a
 * file that is not a transcript is named as unreadable, never skipped silently.
 */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { extractReportBundle } from "../report/binding";
import { namingOriginal, withEvidenceSnapshot } from "../files/snapshot";
import { verifyAnyFile } from "../source";
import { parseBundle } from "../transcript/bundle";
import { SQLITE_MAGIC, TranscriptStore } from "../transcript/store";
import type { CeremonyMeta, CeremonyVerdict, EntryBody } from "../transcript/types";
import { describeFailure, readEvidence } from "../transcript/verify/index";
import type { InputVerdict } from "./types";

/** The file names a ceremony folder may hold its transcript under, in the order they are preferred. */
export const TRANSCRIPT_NAMES = ["transcript.sqlite", "bundle.json", "report.pdf"] as const;

/** An intact ceremony read back: its header, verdict and entry bodies. */
export interface ReadCeremony {
  file: string;
  meta: CeremonyMeta;
  verdict: CeremonyVerdict;
  bodies: EntryBody[];
}

/**
 * The transcript files named by the arguments: a file as it is; a folder by
 * the first of TRANSCRIPT_NAMES it holds, else each of its sub-folders that
 * holds one (an archive of ceremony folders). A folder with none is an error.
 */
export function transcriptFiles(args: string[]): string[] {
  const out: string[] = [];
  const inFolder = (dir: string) => TRANSCRIPT_NAMES.map((n) => path.join(dir, n)).find((f) => fs.existsSync(f));
  for (const a of args) {
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch {
      throw new CustosError("CUSTODY_INPUT", `${a}: no such file or folder.`, "Give the folders (or transcript files) of the root's ceremonies.");
    }
    if (!st.isDirectory()) {
      out.push(a);
      continue;
    }
    const own = inFolder(a);
    if (own) {
      out.push(own);
      continue;
    }
    const subs = fs
      .readdirSync(a, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => inFolder(path.join(a, d.name)))
      .filter((f): f is string => !!f)
      .sort();
    if (subs.length === 0) {
      throw new CustosError("CUSTODY_INPUT", `${a} holds no transcript (${TRANSCRIPT_NAMES.join(", ")}), nor any folder that does.`, "Give the folders of the root's ceremonies.");
    }
    out.push(...subs);
  }
  return [...new Set(out.map((f) => path.resolve(f)))];
}

function readBack(file: string): Array<{ meta: CeremonyMeta; bodies: EntryBody[] }> {
  const bytes = readEvidence(file);
  if (bytes.subarray(0, 16).equals(SQLITE_MAGIC)) {
    const store = TranscriptStore.openReadOnly(file);
    try {
      return store.listCeremonies().map((meta) => ({ meta, bodies: store.entries(meta.id).map((e) => e.body) }));
    } finally {
      store.close();
    }
  }
  const isPdf = bytes.subarray(0, 5).toString("latin1") === "%PDF-";
  const extracted = isPdf ? extractReportBundle(bytes) : { bundle: bytes };
  if ("failure" in extracted) throw new CustosError("CUSTODY_INPUT", `${file}: ${extracted.failure.reason}`);
  const b = parseBundle(extracted.bundle.toString("utf8"));
  return [{ meta: b.ceremony, bodies: b.entries.map((e) => e.body) }];
}

/** Verifies every file; returns what each input is, and the intact ceremonies read back. */
export async function readTranscripts(files: string[]): Promise<{ inputs: InputVerdict[]; ceremonies: ReadCeremony[] }> {
  const inputs: InputVerdict[] = [];
  const ceremonies: ReadCeremony[] = [];
  for (const file of files) {
    // Verified and read back from one private copy, so what the register shows is what was verified.
    await withEvidenceSnapshot(file, async (copy) => readOne(file, copy, inputs, ceremonies)).catch((e: unknown) => {
      inputs.push({ file, state: "unreadable", reason: e instanceof CustosError ? e.message : String((e as Error)?.message ?? e) });
    });
  }
  return { inputs, ceremonies };
}

async function readOne(file: string, copy: string, inputs: InputVerdict[], ceremonies: ReadCeremony[]): Promise<void> {
  const said = (e: unknown) => namingOriginal(e, copy, file);
  let result;
  try {
    result = await verifyAnyFile(copy);
  } catch (e) {
    inputs.push({ file, state: "unreadable", reason: said(e) });
    return;
  }
  if (result.fileFailure) {
    inputs.push({ file, state: "not-intact", reason: describeFailure(result.fileFailure), ...(result.ceremonies[0] ? { ceremonyId: result.ceremonies[0].ceremonyId, head: result.ceremonies[0].head } : {}) });
    return;
  }
  const intact = result.ceremonies.filter((c) => c.ok);
  for (const c of result.ceremonies) {
    inputs.push({ file, ceremonyId: c.ceremonyId, head: c.head, state: c.ok ? "intact" : "not-intact", completeness: c.completeness, ...(c.ok ? {} : { reason: describeFailure(c.failure!) }) });
  }
  if (intact.length === 0) return;
  let read: Array<{ meta: CeremonyMeta; bodies: EntryBody[] }>;
  try {
    read = readBack(copy);
  } catch (e) {
    // Verified a moment ago from the same private copy: reading it back should not fail.
    for (const c of intact) {
      const i = inputs.find((x) => x.file === file && x.ceremonyId === c.ceremonyId)!;
      i.state = "unreadable";
      i.reason = `it verified but could not be read back (${said(e)}).`;
    }
    return;
  }
  for (const c of intact) {
    const r = read.find((x) => x.meta.id === c.ceremonyId);
    if (r) ceremonies.push({ file, meta: r.meta, verdict: c, bodies: r.bodies });
  }
}
