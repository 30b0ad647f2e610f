import fs from "node:fs";
import path from "node:path";
import { Ceremony } from "../engine/ceremony";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { SoftHsmTokenGuard, openRehearsalHsm, prepareRehearsalTokenDir, randomPin } from "../hsm";
import { renderFinalHeadSheet } from "../report/final-attestation";
import { renderReport } from "../report/report";
import { renderShareCard } from "../report/share-card";
import { loadScriptFile } from "../script/load";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import { TranscriptStore } from "../transcript/store";
import { readVerifiedSource } from "../source";
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
}

export interface RehearsalOutcome {
  ceremonyId: string;
  outDir: string;
  entries: number;
}

const TOKEN_LABEL = "custos-root";

function ensureEmptyDir(dir: string): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new CustosError("REHEARSAL_OUT", `${dir} exists and is not a folder.`, "Choose a new folder for the rehearsal.");
    if (fs.readdirSync(dir).length) throw new CustosError("REHEARSAL_OUT", `${dir} is not empty.`, "Choose a new or empty folder: a rehearsal never overwrites earlier output.");
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

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
  const loaded = loadScriptFile(o.scriptPath);
  const outDir = path.resolve(o.outDir);
  ensureEmptyDir(outDir);
  const token = prepareRehearsalTokenDir(outDir, o.modulePath);
  const custodianCount = o.custodians ?? loaded.script.quorum.shares;
  const info: Omit<RehearsalFile, "ceremonyId"> = {
    format: "custos-rehearsal",
    version: 1,
    warning: "REHEARSAL ONLY. This throwaway token, its PINs and these simulated passphrases protect nothing; never use them in production.",
    script: path.resolve(o.scriptPath),
    softhsm: { configPath: token.configPath, tokenDir: token.tokenDir, modulePath: token.modulePath, tokenLabel: TOKEN_LABEL, soPin: randomPin(), userPin: randomPin() },
    participants: simulatedAttendance(loaded.script, custodianCount),
  };
  return runRehearsal(outDir, info, o.log, (deps) =>
    Ceremony.start(deps, loaded, {
      mode: "rehearsal",
      algorithm: o.algorithm,
      shares: custodianCount,
      threshold: o.threshold ?? Math.min(loaded.script.quorum.threshold, custodianCount),
    }),
  );
}

/** Continues an interrupted rehearsal from its folder: the transcript says where it stopped. */
export async function resumeRehearsal(dir: string, log?: (line: string) => void): Promise<RehearsalOutcome> {
  const outDir = path.resolve(dir);
  let info: RehearsalFile;
  try {
    info = JSON.parse(fs.readFileSync(path.join(outDir, "rehearsal.json"), "utf8")) as RehearsalFile;
  } catch (e) {
    throw new CustosError("REHEARSAL_RESUME", `${outDir} has no readable rehearsal.json (${(e as Error).message}).`, "Point --resume at a rehearsal folder.");
  }
  return runRehearsal(outDir, info, log, (deps) => Ceremony.resume(deps, info.ceremonyId));
}

async function runRehearsal(
  outDir: string,
  info: Omit<RehearsalFile, "ceremonyId"> & { ceremonyId?: string },
  logFn: ((line: string) => void) | undefined,
  open: (deps: EngineDeps) => Ceremony,
  shareTextOverride?: ShareTextOverride,
): Promise<RehearsalOutcome> {
  const log = logFn ?? (() => {});
  const token = { configPath: info.softhsm.configPath, tokenDir: info.softhsm.tokenDir, modulePath: info.softhsm.modulePath, env: { SOFTHSM2_CONF: info.softhsm.configPath } };
  const store = TranscriptStore.open(path.join(outDir, "transcript.sqlite"));
  const guard = new SoftHsmTokenGuard(info.softhsm.tokenDir, path.join(outDir, "softhsm-token-copies"));
  // Only this rehearsal's own token folder is ever repaired; a destruction rehearsal's source token has objects.
  const initRecorded = !!info.ceremonyId && store.entries(info.ceremonyId).some((e) => e.body.action === "init-token");
  const repaired = guard.repair(initRecorded);
  if (repaired.length) log(`SoftHSM token left broken by the interruption: ${repaired.join(", ")}`);
  if (initRecorded) guard.snapshot(); // a kill between recording a step and copying the token left no copy
  const from = info.from;
  const room = new SimulatedRoom({
    outDir,
    people: info.participants,
    soPin: info.softhsm.soPin,
    userPin: info.softhsm.userPin,
    renderShareCard: shareCardPdf,
    log,
    tokenSlot: from && info.softhsm.tokenDir.startsWith(from.dir) ? (tokens) => (tokens.find((t) => t.initialized && t.label === TOKEN_LABEL) ?? tokens[0]!).slotId : undefined,
    source: from ? { transcript: from.transcript, backup: from.backup, shareText: sourceShareReader(from.dir, from.transcript, shareTextOverride) } : undefined,
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
  let ceremony: Ceremony | undefined;
  try {
    ceremony = open(deps);
    if (!info.ceremonyId) {
      const full: RehearsalFile = { ...info, ceremonyId: ceremony.id, settings: { ...ceremony.settings } };
      fs.writeFileSync(path.join(outDir, "rehearsal.json"), JSON.stringify(full, null, 2) + "\n", { mode: 0o600 });
    }
    const total = ceremony.script.steps.length;
    log(`REHEARSAL ${ceremony.id}: ${ceremony.script.title} (sha256 ${ceremony.meta.scriptSha256.slice(0, 16)}…)${ceremony.completedSteps ? `, resuming at step ${ceremony.completedSteps + 1}` : ""}`);
    await ceremony.runToEnd((e) => {
      guard.snapshot();
      log(`  [${ceremony!.completedSteps}/${total}] ${e.body.stepId} (${e.body.action}) entry #${e.body.seq} ${e.entryHash.slice(0, 12)}`);
    });
    const bundle = exportBundle(store, ceremony.id);
    fs.writeFileSync(path.join(outDir, "bundle.json"), bundleToJson(bundle));
    fs.writeFileSync(path.join(outDir, "report.pdf"), await renderReport(bundle));
    // The one page signed by hand in the room: its head is what an auditor pins with --expect-head.
    if (ceremony.done) fs.writeFileSync(path.join(outDir, "final-head.pdf"), await renderFinalHeadSheet(bundle));
    log(`done: ${outDir}`);
    return { ceremonyId: ceremony.id, outDir, entries: bundle.entries.length };
  } finally {
    ceremony?.close();
    store.close();
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
}

/**
 * Drives a recovery, re-split or destruction script from an earlier
 * rehearsal's folder: its verified transcript, backup.json, the simulated
 * custodians' passphrases and their share texts.
 */
export async function rehearseFrom(o: RehearseFromOptions): Promise<RehearsalOutcome> {
  const loaded = loadScriptFile(o.scriptPath);
  if (loaded.script.kind === "generation") throw new CustosError("USAGE", "--from is for recovery, re-split and destruction scripts.", "Rehearse a generation without --from.");
  const fromDir = path.resolve(o.fromDir);
  let prior: RehearsalFile;
  try {
    prior = JSON.parse(fs.readFileSync(path.join(fromDir, "rehearsal.json"), "utf8")) as RehearsalFile;
  } catch (e) {
    throw new CustosError("REHEARSAL_FROM", `${fromDir} is not a rehearsal folder (${(e as Error).message}).`, "Point --from at the folder of an earlier rehearsal.");
  }
  const transcript = path.join(fromDir, "transcript.sqlite");
  const backupPath = path.join(fromDir, "backup.json");
  const { participants, shares, backup } = await sourceFacts(transcript);
  const chosen = o.shares ?? shares.slice(0, backup.threshold).map((s) => s.index);
  if (new Set(chosen).size !== chosen.length) throw new CustosError("USAGE", `--shares lists a share twice (${chosen.join(",")}).`, "");
  const present: SimulatedPerson[] = chosen.map((index) => {
    const rec = shares.find((s) => s.index === index);
    if (!rec) throw new CustosError("USAGE", `The source has no share ${index}; it issued shares 1 to ${shares.length}.`, "");
    const name = participants.find((p) => p.id === rec.custodian)?.name;
    const person = prior.participants.find((p) => p.name === name);
    if (!person) throw new CustosError("REHEARSAL_FROM", `The source rehearsal does not know custodian ${rec.custodian}.`, "");
    return { name: person.name, roles: ["custodian"], passphrase: person.passphrase, sourceId: rec.custodian };
  });
  const outDir = path.resolve(o.outDir);
  ensureEmptyDir(outDir);
  const newSet = o.custodians ?? loaded.script.quorum.shares;
  const officers = simulatedAttendance(loaded.script, newSet, ["custodian"], prior.participants.map((p) => p.name));
  const destruction = loaded.script.kind === "destruction";
  const token = destruction ? undefined : prepareRehearsalTokenDir(outDir, o.modulePath);
  const info: Omit<RehearsalFile, "ceremonyId"> = {
    format: "custos-rehearsal",
    version: 1,
    warning: "REHEARSAL ONLY. This throwaway token, its PINs and these simulated passphrases protect nothing; never use them in production.",
    script: path.resolve(o.scriptPath),
    softhsm: token
      ? { configPath: token.configPath, tokenDir: token.tokenDir, modulePath: token.modulePath, tokenLabel: TOKEN_LABEL, soPin: randomPin(), userPin: randomPin() }
      : { ...prior.softhsm },
    participants: [...officers, ...present],
    from: { dir: fromDir, transcript, backup: backupPath, shares: chosen },
  };
  return runRehearsal(
    outDir,
    info,
    o.log,
    (deps) =>
      Ceremony.start(deps, loaded, {
        mode: "rehearsal",
        shares: loaded.script.kind === "resplit" ? newSet : undefined,
        threshold: loaded.script.kind === "resplit" ? (o.threshold ?? Math.min(loaded.script.quorum.threshold, newSet)) : undefined,
      }),
    o.shareTextOverride,
  );
}
