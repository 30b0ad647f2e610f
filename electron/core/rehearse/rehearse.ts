import fs from "node:fs";
import path from "node:path";
import { sealedShareBags } from "../custody/facts";
import { Ceremony, newCeremonyId, resolveSettings } from "../engine/ceremony";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";
import { toCustosError, whileDoing } from "../files/fault";
import type { FolderLock } from "../files/lock";
import { SoftHsmTokenGuard, openRehearsalHsm, rehearsalModule, prepareRehearsalTokenDir, randomPin } from "../hsm";
import { renderFinalHeadSheet } from "../report/final-attestation";
import { renderReport } from "../report/report";
import { renderShareCard } from "../report/share-card";
import { loadScriptFile } from "../script/load";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import { TranscriptStore } from "../transcript/store";
import { readVerifiedSource } from "../source";
import { abandonNewFolder, claimExistingFolder, claimNewFolder, type ClaimedFolder } from "./folder";
import { rehearseSigning } from "./signing";
import { SimulatedRoom, readRehearsalShare, simulatedAttendance, type SimulatedPerson } from "./simulated-room";

export interface RehearseOptions {
  scriptPath: string;
  outDir: string;
  custodians?: number;
  threshold?: number;
  algorithm?: string;
  modulePath?: string;
  log?: (line: string) => void;
}

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

const TOKEN_LABEL = "custos-root";

/** Renders a share card view into the report module's input. */
export function shareCardPdf(card: import("../engine/types").ShareCardView): Promise<Buffer> {
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
  // Only this rehearsal's own token folder is ever repaired or copied: a destruction or signing rehearsal
  // works on its source's token, which belongs to the source folder and is never removed from here.
  const ownToken = path.resolve(info.softhsm.tokenDir).startsWith(path.resolve(outDir) + path.sep);
  const guard = new SoftHsmTokenGuard(info.softhsm.tokenDir, path.join(outDir, "softhsm-token-copies"));
  const initRecorded = store.entries(info.ceremonyId).some((e) => e.body.action === "init-token");
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


/** Lets a test hand a custodian a different (wrong, foreign, damaged) share text. */
export type ShareTextOverride = (shareIndex: number, text: string) => string;

/**
 * Reads the share text a source custodian holds from the earlier rehearsal's
 * shares/ folder, by the share list of the source transcript verified once by
 * the caller (a resume verifies it again, once).
 */
function sourceShareReader(fromDir: string, transcript: string, override?: ShareTextOverride, known?: Array<{ index: number; custodian: string }>): (sourceId: string) => Promise<string> {
  let shares = known;
  return async (sourceId) => sourceShareText(fromDir, (shares ??= (await sourceFacts(transcript)).shares), sourceId, override);
}

function sourceShareText(fromDir: string, shares: Array<{ index: number; custodian: string }>, sourceId: string, override?: ShareTextOverride): string {
  const index = shares.find((s) => s.custodian === sourceId)?.index;
  if (!index) throw new CustosError("REHEARSAL_SHARE_FILE", `Custodian ${sourceId} holds no share of the source.`, "");
  const dir = path.join(fromDir, "shares");
  const f = fs.readdirSync(dir).find((n) => n.startsWith(`share-${String(index).padStart(2, "0")}-of-`));
  if (!f) throw new CustosError("REHEARSAL_SHARE_FILE", `The source rehearsal has no share ${index} in ${dir}.`, "");
  const text = readRehearsalShare(path.join(dir, f));
  return override ? override(index, text) : text;
}

/** Participants and the latest share list of a verified source transcript. */
async function sourceFacts(transcript: string) {
  const src = await readVerifiedSource(transcript);
  const bodies = src.entries.map((e) => e.body);
  const enrol = bodies.filter((b) => b.action === "enrol-participants").pop();
  const participants = (enrol?.outputs.participants ?? []) as unknown as Array<{ id: string; name: string }>;
  const withShares = [...bodies].reverse().find((b) => b.outputs.backup && b.outputs.shares);
  const shares = (withShares?.outputs.shares ?? []) as unknown as Array<{ index: number; custodian: string }>;
  const backup = (withShares?.outputs.backup ?? {}) as unknown as { threshold: number; total: number };
  return { src, participants, shares, backup };
}

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
