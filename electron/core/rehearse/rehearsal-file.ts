/**
 * A rehearsal folder's rehearsal.json: written (with the throwaway token's
 * config) before the ceremony exists, so the folder can always be resumed,
 * and read back with a message that never echoes its content.
 */
import fs from "node:fs";
import path from "node:path";
import { newCeremonyId } from "../engine/ceremony";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";
import { toCustosError } from "../files/fault";
import { prepareRehearsalTokenDir } from "../hsm";
import { abandonNewFolder, type ClaimedFolder } from "./folder";
import type { SimulatedPerson } from "./simulated-room";

/** rehearsal.json: everything needed to inspect the throwaway token and re-drive the rehearsal. */
export interface RehearsalFile {
  format: "custos-rehearsal";
  version: 1;
  warning: string;
  ceremonyId: string;
  script: string;
  softhsm: { configPath: string; tokenDir: string; modulePath: string; tokenLabel: string; soPin: string; userPin: string };
  participants: SimulatedPerson[];
  /** For recovery, re-split and destruction rehearsals: the earlier rehearsal driven from. */
  from?: { dir: string; transcript: string; backup: string; shares: number[] };
  /** The settings the rehearsal started with, so a resume before entry 1 keeps them. */
  settings?: { algorithm: string; threshold: number; shares: number };
  /** Signing rehearsals: the files given as --input name=FILE, read as if brought on a medium. */
  inputs?: Record<string, string>;
}

export interface RehearsalOutcome {
  ceremonyId: string;
  outDir: string;
  entries: number;
}

export const TOKEN_LABEL = "custos-root";

/**
 * Writes the token config and rehearsal.json, with the ceremony id and settings
 * fixed before the ceremony exists: from then on the folder can always be
 * resumed (a resume starts a ceremony the transcript does not have yet). A
 * failure before that removes everything the run made.
 */
export function prepareFolder(
  folder: ClaimedFolder,
  scriptId: string,
  settings: NonNullable<RehearsalFile["settings"]>,
  describe: (token: ReturnType<typeof prepareRehearsalTokenDir> | undefined) => Pick<RehearsalFile, "script" | "softhsm" | "participants" | "from" | "inputs">,
  modulePath: string | undefined,
): RehearsalFile {
  try {
    const token = modulePath ? prepareRehearsalTokenDir(folder.dir, modulePath) : undefined;
    const info: RehearsalFile = {
      format: "custos-rehearsal",
      version: 1,
      warning: "REHEARSAL ONLY. This throwaway token, its PINs and these simulated passphrases protect nothing; never use them in production.",
      ceremonyId: newCeremonyId(scriptId, new Date()),
      settings: { ...settings },
      ...describe(token),
    };
    writeFileAtomic(path.join(folder.dir, "rehearsal.json"), JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    return info;
  } catch (e) {
    abandonQuietly(folder);
    throw toCustosError(e, { doing: `preparing ${folder.dir}`, intact: `Nothing was left in ${folder.dir}.`, next: "Run the same command again." });
  }
}

function abandonQuietly(folder: ClaimedFolder): void {
  try {
    abandonNewFolder(folder);
  } catch {
    // the folder cannot be cleaned (read-only, vanished): the original error is the one to report
    folder.lock.release();
  }
}

/** Reads a rehearsal folder's rehearsal.json, with a message that does not echo its content. */
export function readRehearsalFile(dir: string, code = "REHEARSAL_RESUME", hint = "Point --resume at a rehearsal folder."): RehearsalFile {
  let info: RehearsalFile;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dir, "rehearsal.json"), "utf8")) as RehearsalFile;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    const why = missing ? "it has no rehearsal.json" : e instanceof SyntaxError ? "its rehearsal.json is damaged" : "its rehearsal.json cannot be read";
    // A start interrupted before rehearsal.json existed recorded nothing: the same command starts it again.
    throw new CustosError(code, `${dir} is not a usable rehearsal folder: ${why}.`, missing && code === "REHEARSAL_RESUME" ? `${hint} If a rehearsal was interrupted while starting, run the same \`custos rehearse … --out ${dir}\` again.` : hint);
  }
  if (info?.format !== "custos-rehearsal" || typeof info.ceremonyId !== "string" || !info.softhsm || !Array.isArray(info.participants)) {
    throw new CustosError(code, `${dir} is not a usable rehearsal folder: its rehearsal.json is not one Custos wrote.`, hint);
  }
  return info;
}
