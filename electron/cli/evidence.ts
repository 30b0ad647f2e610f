import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { removeDeadTemps, writeFileAtomic } from "../core/files/atomic";
import { withEvidenceSnapshot } from "../core/files/snapshot";
import { toCustosError } from "../core/files/fault";
import { checkOutPath } from "../core/files/paths";
import { renderReport } from "../core/report";
import { verifyAnyFile } from "../core/source";
import { bundleToJson, exportBundle } from "../core/transcript/bundle";
import { TranscriptStore } from "../core/transcript/store";
import type { VerifyResult } from "../core/transcript/types";
import { describeFailure } from "../core/transcript/verify/index";
import { safe } from "./escape";
import type { Out } from "./io";

/**
 * `custos report` and `custos export`: they read evidence and write one new
 * file. The transcript is opened read-only (never migrated, switched to WAL or
 * created); the output is checked before anything is read (not an input, not
 * an existing file without --force) and written atomically, so a kill or a
 * full disk leaves the previous file whole. A transcript that does not verify
 * is neither exported nor reported (a report only with --allow-not-intact,
 * marked NOT INTACT on every page): either would lend it the look of evidence.
 */

interface Request {
  transcript: string;
  ceremony?: string;
  out: string;
  force: boolean;
  allowNotIntact: boolean;
}

function parse(args: string[], usage: string): Request {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { ceremony: { type: "string" }, out: { type: "string" }, force: { type: "boolean" }, "allow-not-intact": { type: "boolean" } },
  });
  const transcript = positionals[0];
  if (!transcript || !values.out) throw new CustosError("USAGE", "a transcript and --out FILE are needed.", usage);
  if (positionals.length > 1) throw new CustosError("USAGE", `one transcript at a time (got ${positionals.length}).`, usage);
  const out = checkOutPath(values.out, [transcript], { force: values.force });
  return { transcript, ceremony: values.ceremony, out, force: values.force === true, allowNotIntact: values["allow-not-intact"] === true };
}

/** The transcript must be a readable regular file: a folder, a device or a permission problem is named as such. */
function checkReadable(file: string): void {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new CustosError("IS_A_FOLDER", `${file} is a folder, not a transcript.`, "Give the path of the transcript.sqlite file.");
    if (!st.isFile()) throw new CustosError("TRANSCRIPT_UNREADABLE", `${file} is not a regular file (a device, pipe or socket).`, "Give the path of the transcript.sqlite file.");
    fs.closeSync(fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    throw toCustosError(e, { doing: `reading ${file}`, intact: "Nothing was changed." });
  }
}

/** Opens the transcript (`file`: the private copy of r.transcript) read-only and picks the ceremony; the caller closes the store. */
function openCeremony(r: Request, file: string): { store: TranscriptStore; id: string } {
  let store: TranscriptStore;
  try {
    store = TranscriptStore.openReadOnly(file);
  } catch (e) {
    throw toCustosError(e, { doing: `reading ${r.transcript}`, intact: "The transcript was not changed." });
  }
  try {
    const all = store.listCeremonies();
    const id = r.ceremony ?? (all.length === 1 ? all[0]!.id : undefined);
    if (!id) {
      throw new CustosError(
        all.length ? "USAGE" : "CEREMONY_NOT_FOUND",
        all.length ? `${r.transcript} holds ${all.length} ceremonies; choose one with --ceremony: ${all.map((c) => safe(c.id)).join(", ")}` : `${r.transcript} holds no ceremony.`,
        "",
      );
    }
    if (!all.some((c) => c.id === id)) {
      const shown = /^[\w.-]{1,100}$/.test(id) ? id : JSON.stringify(id.slice(0, 60));
      throw new CustosError("CEREMONY_NOT_FOUND", `No ceremony ${shown} in ${r.transcript}.`, "Run without --ceremony to list the ceremonies it holds.");
    }
    return { store, id };
  } catch (e) {
    store.close();
    throw toCustosError(e, { doing: `reading ${r.transcript}`, intact: "The transcript was not changed." });
  }
}

function write(out: string, data: Buffer | string, force: boolean): void {
  try {
    removeDeadTemps(out); // a killed earlier run's half-written temporary file
    writeFileAtomic(out, data, { overwrite: force });
  } catch (e) {
    throw toCustosError(e, {
      doing: `writing ${out}`,
      intact: `The transcript was not changed${force ? `, and any earlier ${path.basename(out)} is still whole` : ""}; nothing was left at ${out}.`,
      next: "Run the command again.",
    });
  }
}

/**
 * Verifies the whole file first: one that fails at the file level (§4.1 schema, integrity, types) is refused before
 * anything reads it as a transcript, --allow-not-intact or not (it cannot be read reliably).
 */
async function verifyWhole(r: Request, copy: string, doing: string): Promise<VerifyResult> {
  const whole = await verifyAnyFile(copy);
  if (whole.fileFailure) {
    throw new CustosError("NOT_INTACT", `${r.transcript} does not verify, so it is not ${doing}: ${safe(describeFailure(whole.fileFailure))}`, "Run custos verify on it to see why.");
  }
  return whole;
}

/** The verifier's finding when the ceremony does not verify, else undefined. */
function notIntactReason(whole: VerifyResult, id: string): string | undefined {
  const c = whole.ceremonies.find((x) => x.ceremonyId === id);
  return c && !c.ok && c.failure ? describeFailure(c.failure) : undefined;
}

/** `custos report <transcript> [--ceremony ID] --out FILE [--force] [--allow-not-intact]` */
export async function reportCommand(args: string[], io: Out, usage: string): Promise<number> {
  const r = parse(args, usage);
  checkReadable(r.transcript);
  // What is verified and what is printed are the same bytes: one private copy of the transcript for both.
  return withEvidenceSnapshot(r.transcript, (copy) => printReport(r, copy, io));
}

async function printReport(r: Request, copy: string, io: Out): Promise<number> {
  const whole = await verifyWhole(r, copy, "printed");
  const { store, id } = openCeremony(r, copy);
  let pdf: Buffer;
  let problem: string | undefined;
  try {
    problem = notIntactReason(whole, id);
    if (problem && !r.allowNotIntact) {
      throw new CustosError("NOT_INTACT", `${r.transcript}: ceremony ${safe(id)} does not verify, so no report is printed: ${safe(problem)}`, "Run custos verify on it to see why. --allow-not-intact prints a report marked NOT INTACT on every page.");
    }
    try {
      pdf = await renderReport(exportBundle(store, id), problem ? { notIntact: problem } : {});
    } catch (e) {
      if (!problem || e instanceof CustosError) throw e;
      // Entries too malformed to lay out: no report, marked or not.
      throw new CustosError("NOT_INTACT", `${r.transcript}: ceremony ${safe(id)} does not verify and is too damaged to print, even marked NOT INTACT: ${safe(problem)}`, "Run custos verify on it to see why.", { cause: e });
    }
  } catch (e) {
    throw toCustosError(e, { doing: `printing the report of ${safe(id)}`, intact: "The transcript was not changed." });
  } finally {
    store.close();
  }
  write(r.out, pdf, r.force);
  io.out(`report for ${safe(id)} written to ${r.out}${problem ? " (marked NOT INTACT on every page)" : ""}`);
  return 0;
}

/** `custos export <transcript> [--ceremony ID] --out FILE [--force]` */
export async function exportCommand(args: string[], io: Out, usage: string): Promise<number> {
  const r = parse(args, usage);
  checkReadable(r.transcript);
  // What is verified and what is exported are the same bytes: one private copy of the transcript for both.
  return withEvidenceSnapshot(r.transcript, (copy) => exportTo(r, copy, io));
}

async function exportTo(r: Request, copy: string, io: Out): Promise<number> {
  const whole = await verifyWhole(r, copy, "exported");
  const { store, id } = openCeremony(r, copy);
  let json: string;
  try {
    const problem = notIntactReason(whole, id);
    if (problem) throw new CustosError("NOT_INTACT", `${r.transcript}: ceremony ${safe(id)} does not verify, so it is not exported: ${safe(problem)}`, "Run custos verify on it to see why.");
    json = bundleToJson(exportBundle(store, id));
  } catch (e) {
    throw toCustosError(e, { doing: `exporting ${safe(id)}`, intact: "The transcript was not changed." });
  } finally {
    store.close();
  }
  write(r.out, json, r.force);
  io.out(`bundle for ${safe(id)} written to ${r.out}`);
  return 0;
}
