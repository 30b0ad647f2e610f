/**
 * Rehearsals driven from an earlier rehearsal's folder: recovery, re-split,
 * destruction and health check (signing scripts go to signing.ts).
 */
import path from "node:path";
import { Ceremony, resolveSettings } from "../engine/ceremony";
import { CustosError } from "../errors";
import { randomPin, rehearsalModule } from "../hsm";
import { loadScriptFile } from "../script/load";
import { claimNewFolder } from "./folder";
import { TOKEN_LABEL, prepareFolder, readRehearsalFile, type RehearsalOutcome } from "./rehearsal-file";
import { runRehearsal } from "./run-rehearsal";
import { rehearseSigning } from "./signing";
import { simulatedAttendance, type SimulatedPerson } from "./simulated-room";
import { sourceFacts, type ShareTextOverride } from "./source-folder";

export interface RehearseFromOptions {
  scriptPath: string;
  fromDir: string;
  outDir: string;
  /** Which share numbers the custodians present hold (default: the first threshold of them). */
  shares?: number[];
  /** Re-split: size and threshold of the new custodian set. */
  custodians?: number;
  threshold?: number;
  modulePath?: string;
  log?: (line: string) => void;
  shareTextOverride?: ShareTextOverride;
  /** Signing scripts: the files brought into the room, by input name. */
  inputs?: Record<string, string>;
}

/**
 * Drives a recovery, re-split or destruction script from an earlier
 * rehearsal's folder: its verified transcript, backup.json, the simulated
 * custodians' passphrases and their share texts.
 */
export async function rehearseFrom(o: RehearseFromOptions): Promise<RehearsalOutcome> {
  const loaded = loadScriptFile(o.scriptPath);
  if (loaded.script.kind === "generation") throw new CustosError("USAGE", "--from is for recovery, re-split, destruction and signing scripts.", "Rehearse a generation without --from.");
  if (loaded.script.kind === "signing") return rehearseSigning({ ...o, loaded });
  const fromDir = path.resolve(o.fromDir);
  const prior = readRehearsalFile(fromDir, "REHEARSAL_FROM", "Point --from at the folder of an earlier rehearsal.");
  const transcript = path.join(fromDir, "transcript.sqlite");
  const backupPath = path.join(fromDir, "backup.json");
  const { participants, shares, backup } = await sourceFacts(transcript);
  const healthCheck = loaded.script.kind === "health-check";
  // A health check asks every custodian by default; a recovery or destruction a quorum.
  const chosen = o.shares ?? (healthCheck ? shares : shares.slice(0, backup.threshold)).map((s) => s.index);
  if (new Set(chosen).size !== chosen.length) throw new CustosError("USAGE", `--shares lists a share twice (${chosen.join(",")}).`, "");
  const present: SimulatedPerson[] = chosen.map((index) => {
    const rec = shares.find((s) => s.index === index);
    if (!rec) throw new CustosError("USAGE", `The source has no share ${index}; it issued shares 1 to ${shares.length}.`, "");
    const name = participants.find((p) => p.id === rec.custodian)?.name;
    const person = prior.participants.find((p) => p.name === name);
    if (!person) throw new CustosError("REHEARSAL_FROM", `The source rehearsal does not know custodian ${rec.custodian}.`, "");
    return { name: person.name, roles: ["custodian"], passphrase: person.passphrase, sourceId: rec.custodian };
  });
  const newSet = o.custodians ?? loaded.script.quorum.shares;
  const startOptions = {
    mode: "rehearsal" as const,
    // A health check counts the custodians present (one bag serial each); the quorum it reports is the source's.
    shares: loaded.script.kind === "resplit" ? newSet : healthCheck ? chosen.length : undefined,
    threshold: loaded.script.kind === "resplit" ? (o.threshold ?? Math.min(loaded.script.quorum.threshold, newSet)) : healthCheck ? Math.min(2, chosen.length) : undefined,
  };
  const settings = resolveSettings(loaded.script, startOptions);
  const destruction = loaded.script.kind === "destruction";
  // A destruction works on its source's token; a health check uses no HSM at all.
  const modulePath = destruction || healthCheck ? undefined : rehearsalModule(o.modulePath);
  const outDir = path.resolve(o.outDir);
  const folder = claimNewFolder(outDir, `custos rehearse ${path.basename(o.scriptPath)} --from`);
  const officers = simulatedAttendance(loaded.script, newSet, ["custodian"], prior.participants.map((p) => p.name));
  const info = prepareFolder(folder, loaded.script.id, settings, (token) => ({
    script: path.resolve(o.scriptPath),
    softhsm: token
      ? { configPath: token.configPath, tokenDir: token.tokenDir, modulePath: token.modulePath, tokenLabel: TOKEN_LABEL, soPin: randomPin(), userPin: randomPin() }
      : { ...prior.softhsm },
    participants: [...officers, ...present],
    from: { dir: fromDir, transcript, backup: backupPath, shares: chosen },
  }), modulePath);
  return runRehearsal(outDir, info, o.log, (deps) => Ceremony.start(deps, loaded, { ...startOptions, ceremonyId: info.ceremonyId }), folder.lock, destruction ? [fromDir] : [], o.shareTextOverride);
}