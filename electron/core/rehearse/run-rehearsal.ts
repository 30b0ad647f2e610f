/**
 * Runs the ceremony of a locked rehearsal folder to its end against its
 * throwaway SoftHSM token (copied after every entry, repaired after an
 * interruption) with the simulated room, then writes its bundle and reports.
 */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { sealedShareBags } from "../custody/facts";
import type { Ceremony } from "../engine/ceremony";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps, ShareCardView } from "../engine/types";
import { writeFileAtomic } from "../files/atomic";
import { toCustosError, whileDoing } from "../files/fault";
import type { FolderLock } from "../files/lock";
import { SoftHsmTokenGuard, openRehearsalHsm, sweepHalfMadeObjects } from "../hsm";
import { renderFinalHeadSheet } from "../report/final-attestation";
import { renderReport } from "../report/report";
import { renderShareCard } from "../report/share-card";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import { TranscriptStore } from "../transcript/store";
import { readVerifiedSource } from "../source";
import { claimExistingFolder } from "./folder";
import { TOKEN_LABEL, type RehearsalFile, type RehearsalOutcome } from "./rehearsal-file";
import { SimulatedRoom } from "./simulated-room";
import { sourceShareReader, type ShareTextOverride } from "./source-folder";

/**
 * Whether the rehearsal's SoftHSM token folder is its own: the folder, and the
 * one its SoftHSM config really names, both inside the rehearsal folder once
 * symbolic links are followed (a folder reached through a link is still its
 * own; a token folder that is a link to elsewhere is not).
 */
function ownsTokenFolder(outDir: string, info: RehearsalFile): boolean {
  try {
    const root = fs.realpathSync(outDir) + path.sep;
    const real = fs.realpathSync(info.softhsm.tokenDir);
    const conf = fs.realpathSync(info.softhsm.configPath);
    const named = /^\s*directories\.tokendir\s*=\s*(.+?)\s*$/m.exec(fs.readFileSync(conf, "utf8"))?.[1];
    return real.startsWith(root) && conf.startsWith(root) && named !== undefined && fs.realpathSync(named) === real;
  } catch {
    return false;
  }
}

/** The serial of the token this rehearsal initialised (from its init-token entry's body), if recorded. */
function initialisedSerial(body: { outputs: Record<string, unknown> } | undefined): string | undefined {
  const serial = (body?.outputs.token as { serial?: unknown } | undefined)?.serial;
  return typeof serial === "string" && serial ? serial : undefined;
}

/** Actions that create token objects: a kill inside one may leave an object SoftHSM had not finished writing. */
const MAKES_TOKEN_OBJECTS = new Set<string>(["hsm-preflight", "generate-key-pair", "collect-shares-and-restore"]);

/** Renders a share card view into the report module's input. */
export function shareCardPdf(card: ShareCardView): Promise<Buffer> {
  return renderShareCard({
    ceremonyId: card.ceremonyId,
    mode: card.mode,
    scriptTitle: card.scriptTitle,
    keyFingerprint: card.keyFingerprint,
    index: card.index,
    total: card.total,
    threshold: card.threshold,
    custodianName: card.custodian.name,
    words: card.words,
    hex: card.hex,
    commitmentShort: card.commitmentShort,
    createdAt: card.createdAt,
  });
}

/** Runs the ceremony of a locked rehearsal folder to its end; every failure says what is kept and to resume. */
export async function runRehearsal(
  outDir: string,
  info: RehearsalFile,
  logFn: ((line: string) => void) | undefined,
  open: (deps: EngineDeps) => Ceremony | null,
  lock: FolderLock,
  sourceFolders: string[] = [],
  shareTextOverride?: ShareTextOverride,
): Promise<RehearsalOutcome> {
  const log = logFn ?? (() => {});
  // A destruction rehearsal changes its source's token: that folder gets a writer's lock too.
  const sourceLocks: FolderLock[] = [];
  const at: { phase: "steps" | "outputs" } = { phase: "steps" };
  let store: TranscriptStore | undefined;
  try {
    for (const dir of sourceFolders) sourceLocks.push(claimExistingFolder(dir, `custos rehearse (destruction, from ${outDir})`));
    if (lock.previous) log(`taking over ${outDir} from an interrupted run (process ${lock.previous.pid}, since ${lock.previous.since})`);
    store = TranscriptStore.open(path.join(outDir, "transcript.sqlite"));
    return await runLocked(outDir, info, log, open, store, shareTextOverride, (p) => (at.phase = p));
  } catch (e) {
    store?.close();
    store = undefined;
    const resume = `run \`custos rehearse --resume ${outDir}\``;
    if (at.phase === "outputs") throw toCustosError(e, { intact: `The ceremony is complete in ${path.join(outDir, "transcript.sqlite")}; only the final bundle or report is missing.`, next: resume });
    throw toCustosError(e, { intact: `Every step recorded so far is kept in ${path.join(outDir, "transcript.sqlite")}.`, next: resume });
  } finally {
    store?.close();
    for (const l of sourceLocks) l.release();
    lock.release();
  }
}

async function runLocked(
  outDir: string,
  info: RehearsalFile,
  log: (line: string) => void,
  open: (deps: EngineDeps) => Ceremony | null,
  store: TranscriptStore,
  shareTextOverride: ShareTextOverride | undefined,
  setPhase: (p: "outputs") => void,
): Promise<RehearsalOutcome> {
  const token = { configPath: info.softhsm.configPath, tokenDir: info.softhsm.tokenDir, modulePath: info.softhsm.modulePath, env: { SOFTHSM2_CONF: info.softhsm.configPath } };
  // Only this rehearsal's own token folder is ever repaired, copied or swept: a destruction or signing rehearsal
  // works on its source's token, which belongs to the source folder and is never removed from here.
  const ownToken = ownsTokenFolder(outDir, info);
  const guard = new SoftHsmTokenGuard(info.softhsm.tokenDir, path.join(outDir, "softhsm-token-copies"));
  const initEntry = store.entries(info.ceremonyId).find((e) => e.body.action === "init-token");
  const initRecorded = initEntry !== undefined;
  const snapshot = (after: string) => {
    if (!ownToken) return;
    try {
      guard.snapshot();
    } catch (e) {
      throw whileDoing(`copying the SoftHSM token ${after}`, e);
    }
  };
  let repaired: string[] = [];
  try {
    if (ownToken) repaired = guard.repair(initRecorded);
  } catch (e) {
    throw whileDoing("repairing the SoftHSM token left by the interruption", e);
  }
  if (repaired.length) log(`SoftHSM token left broken by the interruption: ${repaired.join(", ")}`);
  if (initRecorded) snapshot("on resuming"); // a kill between recording a step and copying the token left no copy
  const from = info.from;
  const room = new SimulatedRoom({
    outDir,
    people: info.participants,
    soPin: info.softhsm.soPin,
    userPin: info.softhsm.userPin,
    renderShareCard: shareCardPdf,
    log,
    tokenSlot: from && info.softhsm.tokenDir.startsWith(from.dir) ? (tokens) => (tokens.find((t) => t.initialized && t.label === TOKEN_LABEL) ?? tokens[0]!).slotId : undefined,
    source: from
      ? {
          transcript: from.transcript,
          backup: from.backup,
          shareText: sourceShareReader(from.dir, from.transcript, shareTextOverride),
          cardBags: async () => {
            const src = await readVerifiedSource(from.transcript);
            return { bags: sealedShareBags(src.meta, src.entries.map((e) => e.body)), shares: [...from.shares].sort((a, b) => a - b) };
          },
        }
      : undefined,
    inputs: info.inputs,
  });
  const deps: EngineDeps = {
    store,
    driver: room,
    openHsm: () => openRehearsalHsm(token),
    networkInterfaces: () => listNetworkInterfaces(),
    now: () => new Date(),
    kdfCost: "test",
    attestWindowMs: 10 * 60_000,
    renderReport: (b) => renderReport(b),
  };
  let ceremony: Ceremony | null | undefined;
  try {
    try {
      ceremony = open(deps);
    } catch (e) {
      throw whileDoing(`opening the ceremony in ${path.join(outDir, "transcript.sqlite")}`, e);
    }
    if (ceremony) {
      const c = ceremony;
      // Only a step that makes token objects can have been cut off inside one (each login rewrites token.object: no needless one).
      const next = c.script.steps[c.completedSteps]?.action;
      const serial = initialisedSerial(initEntry?.body);
      if (ownToken && serial && next && MAKES_TOKEN_OBJECTS.has(next)) {
        let swept: string[];
        try {
          swept = sweepHalfMadeObjects(token, info.softhsm.userPin, serial);
        } catch (e) {
          throw new CustosError(
            "REHEARSAL_TOKEN_SWEEP",
            `Before resuming, Custos looks for objects the interruption left half-made on this rehearsal's SoftHSM token (serial ${serial}), and that failed: ${e instanceof Error ? e.message : String(e)}`,
            `Every step recorded so far is kept in ${path.join(outDir, "transcript.sqlite")}. Check that ${info.softhsm.tokenDir} is this rehearsal's own token folder, then run \`custos rehearse --resume ${outDir}\`.`,
            { cause: e },
          );
        }
        if (swept.length) log(`SoftHSM token left broken by the interruption: ${swept.join(", ")}`);
      }
      const total = c.script.steps.length;
      log(`REHEARSAL ${c.id}: ${c.script.title} (sha256 ${c.meta.scriptSha256.slice(0, 16)}…)${c.completedSteps ? `, resuming at step ${c.completedSteps + 1}` : ""}`);
      await c.runToEnd((e) => {
        snapshot(`after entry ${e.body.seq}`);
        log(`  [${c.completedSteps}/${total}] ${e.body.stepId} (${e.body.action}) entry #${e.body.seq} ${e.entryHash.slice(0, 12)}`);
      });
    } else log(`REHEARSAL ${info.ceremonyId}: complete; writing its bundle and reports again`);
    setPhase("outputs");
    const id = ceremony?.id ?? info.ceremonyId;
    const bundle = exportBundle(store, id);
    const outputs: Array<[string, () => Promise<Buffer>]> = [
      ["bundle.json", async () => Buffer.from(bundleToJson(bundle))],
      ["report.pdf", () => renderReport(bundle)],
    ];
    // The one page signed by hand in the room: its head is what an auditor pins with --expect-head.
    if (!ceremony || ceremony.done) outputs.push(["final-head.pdf", () => renderFinalHeadSheet(bundle)]);
    for (const [name, data] of outputs) {
      const target = path.join(outDir, name);
      try {
        writeFileAtomic(target, await data());
      } catch (e) {
        throw whileDoing(`writing ${target}`, e);
      }
    }
    log(`done: ${outDir}`);
    return { ceremonyId: id, outDir, entries: bundle.entries.length };
  } finally {
    ceremony?.close();
  }
}
