import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { removeDeadTemps, writeFileAtomic } from "../core/files/atomic";
import { toCustosError } from "../core/files/fault";
import { checkOutPath } from "../core/files/paths";
import { renderReport } from "../core/report";
import { bundleToJson, exportBundle } from "../core/transcript/bundle";
import { TranscriptStore } from "../core/transcript/store";
import type { Out } from "./io";

/**
 * `custos report` and `custos export`: they read evidence and write one new
 * file. The transcript is opened read-only (never migrated, switched to WAL or
 * created); the output is checked before anything is read (not an input, not
 * an existing file without --force) and written atomically, so a kill or a
 * full disk leaves the previous file whole.
 */

interface Request {
  transcript: string;
  ceremony?: string;
  out: string;
  force: boolean;
}

function parse(args: string[], usage: string): Request {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { ceremony: { type: "string" }, out: { type: "string" }, force: { type: "boolean" } },
  });
  const transcript = positionals[0];
  if (!transcript || !values.out) throw new CustosError("USAGE", "a transcript and --out FILE are needed.", usage);
  if (positionals.length > 1) throw new CustosError("USAGE", `one transcript at a time (got ${positionals.length}).`, usage);
  const out = checkOutPath(values.out, [transcript], { force: values.force });
  return { transcript, ceremony: values.ceremony, out, force: values.force === true };
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

/** Opens the transcript read-only and picks the ceremony; the caller closes the store. */
function openCeremony(r: Request): { store: TranscriptStore; id: string } {
  checkReadable(r.transcript);
  let store: TranscriptStore;
  try {
    store = TranscriptStore.openReadOnly(r.transcript);
  } catch (e) {
    throw toCustosError(e, { doing: `reading ${r.transcript}`, intact: "The transcript was not changed." });
  }
  try {
    const all = store.listCeremonies();
    const id = r.ceremony ?? (all.length === 1 ? all[0]!.id : undefined);
    if (!id) {
      throw new CustosError(
        all.length ? "USAGE" : "CEREMONY_NOT_FOUND",
        all.length ? `${r.transcript} holds ${all.length} ceremonies; choose one with --ceremony: ${all.map((c) => c.id).join(", ")}` : `${r.transcript} holds no ceremony.`,
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

/** `custos report <transcript> [--ceremony ID] --out FILE [--force]` */
export async function reportCommand(args: string[], io: Out, usage: string): Promise<number> {
  const r = parse(args, usage);
  const { store, id } = openCeremony(r);
  let pdf: Buffer;
  try {
    pdf = await renderReport(exportBundle(store, id, lastTimestamp(store, id)));
  } catch (e) {
    throw toCustosError(e, { doing: `printing the report of ${id}`, intact: "The transcript was not changed." });
  } finally {
    store.close();
  }
  write(r.out, pdf, r.force);
  io.out(`report for ${id} written to ${r.out}`);
  return 0;
}

/** `custos export <transcript> [--ceremony ID] --out FILE [--force]` */
export function exportCommand(args: string[], io: Out, usage: string): number {
  const r = parse(args, usage);
  const { store, id } = openCeremony(r);
  let json: string;
  try {
    json = bundleToJson(exportBundle(store, id, lastTimestamp(store, id)));
  } catch (e) {
    throw toCustosError(e, { doing: `exporting ${id}`, intact: "The transcript was not changed." });
  } finally {
    store.close();
  }
  write(r.out, json, r.force);
  io.out(`bundle for ${id} written to ${r.out}`);
  return 0;
}

/** Exports are stamped with the transcript's own last time, so re-exports are reproducible. */
function lastTimestamp(store: TranscriptStore, id: string): string {
  const e = store.entries(id);
  return e[e.length - 1]?.body.timestamp ?? new Date(0).toISOString();
}
