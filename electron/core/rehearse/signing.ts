/**
 * Rehearses a signing ceremony (sign-intermediate, issue-crl, cross-certify)
 * against the root key of an earlier rehearsal: its throwaway token is used
 * (and locked) as the production HSM would be, and the files the requester
 * brings are given as --input name=FILE.
 */
import fs from "node:fs";
import path from "node:path";
import { Ceremony, resolveSettings } from "../engine/ceremony";
import { CustosError } from "../errors";
import type { LoadedScript } from "../script/load";
import { claimNewFolder } from "./folder";
import { prepareFolder, readRehearsalFile, type RehearsalOutcome } from "./rehearsal-file";
import type { RehearseFromOptions } from "./rehearse-from";
import { runRehearsal } from "./run-rehearsal";
import { simulatedAttendance } from "./simulated-room";

/** The inputs the script's load-input steps name, each checked to be a readable file. */
function checkedInputs(loaded: LoadedScript, given: Record<string, string> = {}): Record<string, string> {
  const needed = loaded.script.steps.filter((s) => s.action === "load-input").map((s) => (s.params as { name: string }).name);
  const unknown = Object.keys(given).find((n) => !needed.includes(n));
  if (unknown) throw new CustosError("USAGE", `This script reads no input named "${unknown}"; it reads: ${needed.join(", ") || "none"}.`, "");
  const out: Record<string, string> = {};
  for (const name of needed) {
    const file = given[name];
    if (!file) throw new CustosError("USAGE", `This script needs the input "${name}".`, `Give it with --input ${name}=FILE.`);
    const full = path.resolve(file);
    let ok = false;
    try {
      ok = fs.statSync(full).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new CustosError("USAGE", `--input ${name}=${file}: no such file.`, "Give the path of the file the requester sent.");
    out[name] = full;
  }
  return out;
}

/** Drives a signing script from an earlier rehearsal that holds the root key (generation or recovery). */
export async function rehearseSigning(o: RehearseFromOptions & { loaded: LoadedScript }): Promise<RehearsalOutcome> {
  const { loaded } = o;
  const fromDir = path.resolve(o.fromDir);
  const prior = readRehearsalFile(fromDir, "REHEARSAL_FROM", "Point --from at the folder of the generation (or recovery) rehearsal whose root signs.");
  const inputs = checkedInputs(loaded, o.inputs);
  const settings = resolveSettings(loaded.script, { mode: "rehearsal" } as never);
  const outDir = path.resolve(o.outDir);
  const folder = claimNewFolder(outDir, `custos rehearse ${path.basename(o.scriptPath)} --from`);
  const people = simulatedAttendance(loaded.script, 0, [], prior.participants.map((p) => p.name));
  const info = prepareFolder(
    folder,
    loaded.script.id,
    settings,
    () => ({
      script: path.resolve(o.scriptPath),
      // The root's own token: the signing ceremony uses it as it would use the HSM that holds the root.
      softhsm: { ...prior.softhsm },
      participants: people,
      from: { dir: fromDir, transcript: path.join(fromDir, "transcript.sqlite"), backup: "", shares: [] },
      inputs,
    }),
    undefined,
  );
  return runRehearsal(outDir, info, o.log, (deps) => Ceremony.start(deps, loaded, { mode: "rehearsal", ceremonyId: info.ceremonyId }), folder.lock, [fromDir]);
}
