/**
 * `custos rehearse`: a whole script run against a fresh throwaway SoftHSM
 * token with simulated participants, resumed from its folder after an
 * interruption, or driven from an earlier rehearsal (rehearse-from.ts).
 */
import path from "node:path";
import { Ceremony, resolveSettings } from "../engine/ceremony";
import { randomPin, rehearsalModule } from "../hsm";
import { loadScriptFile } from "../script/load";
import { claimExistingFolder, claimNewFolder } from "./folder";
import { TOKEN_LABEL, prepareFolder, readRehearsalFile, type RehearsalFile, type RehearsalOutcome } from "./rehearsal-file";
import { runRehearsal } from "./run-rehearsal";
import { simulatedAttendance } from "./simulated-room";

export { prepareFolder, readRehearsalFile, type RehearsalFile, type RehearsalOutcome } from "./rehearsal-file";
export { rehearseFrom, type RehearseFromOptions } from "./rehearse-from";
export { runRehearsal, shareCardPdf } from "./run-rehearsal";
export type { ShareTextOverride } from "./source-folder";

export interface RehearseOptions {
  scriptPath: string;
  outDir: string;
  custodians?: number;
  threshold?: number;
  algorithm?: string;
  modulePath?: string;
  log?: (line: string) => void;
}

/**
 * Runs a whole script against a fresh throwaway SoftHSM token with simulated
 * participants, and writes the rehearsal folder described in DESIGN.md.
 */
export async function rehearse(o: RehearseOptions): Promise<RehearsalOutcome> {
  // Everything that can be refused is checked before the folder is touched: a refused start leaves nothing.
  const loaded = loadScriptFile(o.scriptPath);
  const custodianCount = o.custodians ?? loaded.script.quorum.shares;
  const startOptions = {
    mode: "rehearsal" as const,
    algorithm: o.algorithm,
    shares: custodianCount,
    threshold: o.threshold ?? Math.min(loaded.script.quorum.threshold, custodianCount),
  };
  const settings = resolveSettings(loaded.script, startOptions);
  const modulePath = rehearsalModule(o.modulePath);
  const outDir = path.resolve(o.outDir);
  const folder = claimNewFolder(outDir, `custos rehearse ${path.basename(o.scriptPath)} --out`);
  const info = prepareFolder(folder, loaded.script.id, settings, (token) => ({
    script: path.resolve(o.scriptPath),
    softhsm: { configPath: token!.configPath, tokenDir: token!.tokenDir, modulePath: token!.modulePath, tokenLabel: TOKEN_LABEL, soPin: randomPin(), userPin: randomPin() },
    participants: simulatedAttendance(loaded.script, custodianCount),
  }), modulePath);
  return runRehearsal(outDir, info, o.log, (deps) => Ceremony.start(deps, loaded, { ...startOptions, ceremonyId: info.ceremonyId }), folder.lock);
}

/** Continues an interrupted rehearsal from its folder: the transcript says where it stopped. */
export async function resumeRehearsal(dir: string, log?: (line: string) => void): Promise<RehearsalOutcome> {
  const outDir = path.resolve(dir);
  const lock = claimExistingFolder(outDir, "custos rehearse --resume");
  let info: RehearsalFile;
  try {
    info = readRehearsalFile(outDir);
  } catch (e) {
    lock.release();
    throw e;
  }
  const extra = info.from && !info.softhsm.tokenDir.startsWith(outDir + path.sep) ? [info.from.dir] : [];
  return runRehearsal(
    outDir,
    info,
    log,
    (deps) => {
      const meta = deps.store.getCeremony(info.ceremonyId);
      // Interrupted between rehearsal.json and the ceremony's header: nothing is recorded yet, so it starts now.
      if (!meta) return Ceremony.start(deps, loadScriptFile(info.script), { mode: "rehearsal", ...info.settings, ceremonyId: info.ceremonyId });
      // Closed (sealed or aborted): no step is left, only its outputs are written again.
      if (meta.status !== "open") return null;
      return Ceremony.resume(deps, info.ceremonyId);
    },
    lock,
    extra,
  );
}
