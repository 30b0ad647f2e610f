// Invariant 7, for real: the `custos` command is SIGKILLed at every step
// boundary (and at random points inside steps) of a generation and a recovery
// rehearsal, then `custos rehearse --resume DIR` finishes the ceremony. The
// finished folder must verify, hold every script step exactly once, and its
// token must hold exactly one root key pair and no secret key.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main as custosMain } from "../../electron/cli/main";
import type { RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { readRehearsalShare } from "../../electron/core/rehearse/simulated-room";
import { loadScriptFile } from "../../electron/core/script/load";
import { checkShareCommitment, combineShares, decodeShare, kcv } from "../../electron/core/shares";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { CLI, ROOT, custos, tool, walk } from "../helpers/files";

const GEN_SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const REC_SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-recovery.yaml");
const GEN_STEPS = loadScriptFile(GEN_SCRIPT).script.steps.map((s) => s.id);
const REC_STEPS = loadScriptFile(REC_SCRIPT).script.steps.map((s) => s.id);
const readJson = <T>(f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as T;

/** When to SIGKILL the running rehearsal. */
type Kill =
  | { kind: "after-step"; k: number } // as soon as "  [k/N] …" is printed (the entry is committed)
  | { kind: "after-line"; pattern: RegExp; what: string } // a log line printed inside a step
  | { kind: "timed"; ms: number }; // ms after the "[1/N]" line: lands wherever it lands

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killed: boolean;
  /** Last "[seq/N]" line seen before the kill was sent. */
  lastSeenSeq: number;
}

/** Runs the real command line as a child process, optionally SIGKILLing it at a point. */
function runCli(args: string[], kill?: Kill): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    let killed = false;
    let lastSeenSeq = 0;
    let timer: NodeJS.Timeout | undefined;
    const doKill = () => {
      if (killed || child.exitCode !== null) return;
      killed = true;
      child.kill("SIGKILL");
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (killed) return;
        const m = /^ {2}\[(\d+)\/(\d+)\] /.exec(line);
        if (m) lastSeenSeq = Number(m[1]);
        if (!kill) continue;
        if (kill.kind === "after-step" && m && Number(m[1]) === kill.k) doKill();
        else if (kill.kind === "after-line" && kill.pattern.test(line)) doKill();
        else if (kill.kind === "timed" && m && m[1] === "1") timer = setTimeout(doKill, kill.ms);
      }
    });
    child.stderr.on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed, lastSeenSeq });
    });
  });
}

/** `custos verify FILE` through the command's own entry point (what bin/custos.js runs), in-process to save a Node start per check. */
async function verifyStatus(file: string): Promise<{ status: number; text: string }> {
  const lines: string[] = [];
  const status = await custosMain(["verify", file], { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  return { status, text: lines.join("\n") };
}

interface TokenObject {
  kind: string;
  label: string;
}

/** Every object on the rehearsal's token, as an outside tool (OpenSC pkcs11-tool) lists them. */
function tokenObjects(info: RehearsalFile): { objects: TokenObject[]; raw: string } {
  const raw = tool(
    "pkcs11-tool",
    ["--module", info.softhsm.modulePath, "--token-label", info.softhsm.tokenLabel, "--login", "--pin", info.softhsm.userPin, "--list-objects"],
    { SOFTHSM2_CONF: info.softhsm.configPath },
  );
  const objects = raw
    .split(/\n(?=\S)/)
    .filter((b) => /Object/.test(b.split("\n")[0]!))
    .map((b) => ({ kind: b.split(";")[0]!.split("\n")[0]!.trim(), label: /^\s*label:\s*(.*)$/m.exec(b)?.[1]?.trim() ?? "" }));
  return { objects, raw };
}

interface Outcome {
  name: string;
  killedAt: string;
  resumedAt: number | null;
  orphans: number;
  problems: string[];
  ms: number;
}

/** The checks every finished folder must pass; returns what is wrong (empty when all is well). */
async function checkFinished(dir: string, steps: string[], kind: "generation" | "recovery", sourceFingerprint?: string): Promise<{ problems: string[]; orphans: number }> {
  const problems: string[] = [];
  const info = readJson<RehearsalFile>(path.join(dir, "rehearsal.json"));
  // 1. The transcript, and the bundle written at the end, verify.
  for (const f of ["transcript.sqlite", "bundle.json"]) {
    const v = await verifyStatus(path.join(dir, f));
    if (v.status !== 0) problems.push(`custos verify ${f} exited ${v.status}: ${v.text}`);
  }
  // 2. Every script step exactly once, in order, and nothing else.
  const store = TranscriptStore.openReadOnly(path.join(dir, "transcript.sqlite"));
  let orphans = 0;
  let fingerprint: string | undefined;
  let backupOut: { backup?: { kcv: string; sha256: string }; shares?: Array<{ index: number; salt: string; commitment: string }> } = {};
  try {
    const entries = store.entries(info.ceremonyId);
    const ids = entries.map((e) => e.body.stepId);
    const seqs = entries.map((e) => e.body.seq);
    if (JSON.stringify(ids) !== JSON.stringify(steps)) problems.push(`step ids ${JSON.stringify(ids)} differ from the script's ${JSON.stringify(steps)}`);
    if (JSON.stringify(seqs) !== JSON.stringify(steps.map((_, i) => i + 1))) problems.push(`sequence numbers ${JSON.stringify(seqs)}`);
    const extra = entries.filter((e) => e.body.action === "exception");
    if (extra.length) problems.push(`${extra.length} exception entries`);
    for (const e of entries) {
      const o = e.body.outputs as Record<string, unknown>;
      if (Array.isArray(o.orphansDestroyed)) orphans += o.orphansDestroyed.length;
      if (o.rootKey && typeof o.rootKey === "object") fingerprint = (o.rootKey as { fingerprint: string }).fingerprint;
      if (o.backup && o.shares) backupOut = o as typeof backupOut;
    }
  } finally {
    store.close();
  }
  // 3. The token: exactly one root key pair of this ceremony, no secret key, nothing else.
  const label = `custos:${info.ceremonyId}:root`;
  const { objects, raw } = tokenObjects(info);
  const mine = objects.filter((o) => o.label === label);
  const priv = mine.filter((o) => o.kind.startsWith("Private Key Object")).length;
  const pub = mine.filter((o) => o.kind.startsWith("Public Key Object")).length;
  if (mine.length !== 2 || priv !== 1 || pub !== 1) problems.push(`token holds ${mine.length} object(s) labelled ${label} (${priv} private, ${pub} public):\n${raw}`);
  if (objects.some((o) => o.kind.startsWith("Secret Key Object"))) problems.push(`token holds a secret key object:\n${raw}`);
  if (objects.length !== mine.length) problems.push(`token holds other objects too:\n${raw}`);
  if (!fs.existsSync(path.join(dir, "report.pdf"))) problems.push("no report.pdf");
  if (kind === "generation") {
    // 4. The shares now in shares/ are the ones the transcript committed to, and recombine to backup.json's KCV.
    const backup = readJson<{ wrapping: { kcv: string; threshold: number; total: number }; blobSha256: string }>(path.join(dir, "backup.json"));
    if (backupOut.backup?.kcv !== backup.wrapping.kcv || backupOut.backup?.sha256 !== backup.blobSha256) problems.push("backup.json does not match the recorded backup entry");
    const files = fs.readdirSync(path.join(dir, "shares")).filter((f) => f.endsWith(".txt")).sort();
    const cards = fs.readdirSync(path.join(dir, "share-cards")).filter((f) => f.endsWith(".pdf")).sort();
    if (files.length !== backup.wrapping.total || cards.length !== backup.wrapping.total) problems.push(`${files.length} share texts and ${cards.length} share cards for ${backup.wrapping.total} shares`);
    const decoded = files.map((f) => decodeShare(readRehearsalShare(path.join(dir, "shares", f)), { ceremonyId: info.ceremonyId }));
    for (const d of decoded) {
      const rec = backupOut.shares?.find((s) => s.index === d.index);
      if (!rec || !checkShareCommitment(d.share, info.ceremonyId, d.index, rec.salt, rec.commitment)) problems.push(`shares/ share ${d.index} does not match its recorded commitment (a void card from the killed run?)`);
    }
    // Every threshold-sized window of shares, not just the first.
    for (let i = 0; i + backup.wrapping.threshold <= decoded.length; i++) {
      const kek = await combineShares(decoded.slice(i, i + backup.wrapping.threshold).map((d) => d.share), backup.wrapping.threshold);
      if (kcv(kek) !== backup.wrapping.kcv) problems.push(`shares ${i + 1}..${i + backup.wrapping.threshold} recombine to KCV ${kcv(kek)}, backup.json says ${backup.wrapping.kcv}`);
    }
  } else if (fingerprint !== sourceFingerprint) {
    problems.push(`restored key fingerprint ${fingerprint} differs from the source's ${sourceFingerprint}`);
  }
  return { problems, orphans };
}

/** One kill-then-resume cycle on a fresh folder. */
async function cycle(name: string, startArgs: string[], kill: Kill, steps: string[], kind: "generation" | "recovery", sourceFingerprint?: string): Promise<Outcome> {
  const t0 = Date.now();
  const dir = startArgs[startArgs.indexOf("--out") + 1]!;
  const problems: string[] = [];
  const first = await runCli(startArgs, kill);
  const killedAt = first.killed ? `after [${first.lastSeenSeq}/${steps.length}] was printed` : "not killed (run ended first)";
  if (kill.kind !== "timed" && !first.killed) problems.push(`the kill point was never reached; exit ${first.code}: ${first.stderr}`);
  if (first.killed && first.signal !== "SIGKILL") problems.push(`child ended with ${first.signal}/${first.code}, not by SIGKILL`);
  if (!first.killed && first.code !== 0) problems.push(`the first run failed by itself (${first.code}, ${first.signal}): ${first.stderr}\n--- stdout ---\n${first.stdout}`);
  let resumedAt: number | null = null;
  if (first.killed) {
    const r = await runCli(["rehearse", "--resume", dir]);
    const m = /resuming at step (\d+)/.exec(r.stdout);
    resumedAt = m ? Number(m[1]) : r.stdout.includes("REHEARSAL ") ? 1 : null;
    if (r.code !== 0) problems.push(`custos rehearse --resume exited ${r.code}:\n${r.stderr.trim()}\n--- stdout ---\n${r.stdout.trim()}`);
    // No completed step lost: everything printed before the kill is still recorded.
    if (resumedAt !== null && resumedAt <= first.lastSeenSeq && first.lastSeenSeq < steps.length) {
      problems.push(`resumed at step ${resumedAt} though step ${first.lastSeenSeq} had been reported recorded before the kill`);
    }
    if (r.code !== 0) return { name, killedAt, resumedAt, orphans: 0, problems, ms: Date.now() - t0 };
  }
  try {
    const c = await checkFinished(dir, steps, kind, sourceFingerprint);
    problems.push(...c.problems);
    return { name, killedAt, resumedAt, orphans: c.orphans, problems, ms: Date.now() - t0 };
  } catch (e) {
    problems.push(`checking the finished folder threw: ${(e as Error).stack}\n--- first run stdout ---\n${first.stdout}\n--- stderr ---\n${first.stderr}`);
    return { name, killedAt, resumedAt, orphans: 0, problems, ms: Date.now() - t0 };
  }
}

/** Runs jobs two at a time (this machine has two cores). */
async function pool<T>(jobs: Array<() => Promise<T>>, width = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

function summarise(title: string, outcomes: Outcome[]): void {
  const rows = outcomes.map((o) => `  ${o.name.padEnd(34)} killed ${o.killedAt.padEnd(32)} resumed at ${String(o.resumedAt ?? "-").padStart(2)}  orphans destroyed ${o.orphans}  ${o.ms} ms${o.problems.length ? "  FAILED" : ""}`);
  console.log(`${title}\n${rows.join("\n")}`);
}

/** Random delay inside [lo, hi), printed so a failing case can be reproduced by hand. */
const within = (lo: number, hi: number) => Math.floor(lo + Math.random() * (hi - lo));

let work: string;
let gen: string;
let genFingerprint: string;
let genDigest: string;

/** A digest of the files a recovery reads from its source folder (lock files aside), to show it changes none. */
function folderDigest(dir: string): string {
  const h = crypto.createHash("sha256");
  for (const f of walk(dir).filter((f) => !f.endsWith(".lock")).sort()) h.update(f).update("\0").update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex");
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-crash-"));
  gen = path.join(work, "source-generation");
  const r = await runCli(["rehearse", GEN_SCRIPT, "--out", gen]);
  expect(r.code, r.stderr).toBe(0);
  genFingerprint = readJson<{ rootKey: { fingerprint: string } }>(path.join(gen, "backup.json")).rootKey.fingerprint;
  genDigest = folderDigest(gen);
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("crash and resume through the real custos command (SIGKILL)", () => {
  it("generation: killed after each of steps 1..15, inside the backup step, and at random points, resumes to a complete, verifiable ceremony with one key pair", async () => {
    const cases: Array<{ name: string; kill: Kill }> = [];
    for (let k = 1; k <= GEN_STEPS.length; k++) cases.push({ name: `after step ${k} (${GEN_STEPS[k - 1]})`, kill: { kind: "after-step", k } });
    cases.push({ name: "inside backup, after share card 2/5", kill: { kind: "after-line", pattern: /share 2\/\d+ handed to/, what: "share 2 handed out" } });
    // The steps take ~1.2 s after step 1 on this machine, then bundle and report ~0.4 s.
    for (const [lo, hi] of [[0, 300], [300, 700], [700, 1100], [1100, 1600]] as const) {
      const ms = within(lo, hi);
      cases.push({ name: `timed, ${ms} ms after step 1`, kill: { kind: "timed", ms } });
    }
    const outcomes = await pool(cases.map((c, i) => () => cycle(c.name, ["rehearse", GEN_SCRIPT, "--out", path.join(work, `gen-${i}`)], c.kill, GEN_STEPS, "generation")));
    summarise("generation kill/resume:", outcomes);
    const failures = outcomes.filter((o) => o.problems.length).map((o) => `${o.name} (killed ${o.killedAt}, resumed at ${o.resumedAt}):\n  ${o.problems.join("\n  ")}`);
    expect(failures, failures.join("\n\n")).toEqual([]);
    // A kill right after a step is recorded never re-runs that step.
    for (const [i, o] of outcomes.slice(0, GEN_STEPS.length - 1).entries()) expect(o.resumedAt, o.name).toBeGreaterThanOrEqual(i + 2);
    // The same verdict from the real command line, once.
    expect(custos(["verify", path.join(work, "gen-0", "transcript.sqlite")]).status).toBe(0);
  }, 240_000);

  it("recovery (--from a generation rehearsal): killed after each of steps 1..11, inside the restore step, and at random points, resumes with exactly one restored key pair on the target token", async () => {
    const cases: Array<{ name: string; kill: Kill }> = [];
    for (let k = 1; k <= REC_STEPS.length; k++) cases.push({ name: `after step ${k} (${REC_STEPS[k - 1]})`, kill: { kind: "after-step", k } });
    cases.push({ name: "inside restore, at the share briefing", kill: { kind: "after-line", pattern: /^ {2}shares for /, what: "briefing" } });
    for (const [lo, hi] of [[0, 200], [200, 400], [400, 700]] as const) {
      const ms = within(lo, hi);
      cases.push({ name: `timed, ${ms} ms after step 1`, kill: { kind: "timed", ms } });
    }
    const outcomes = await pool(
      cases.map((c, i) => () => cycle(c.name, ["rehearse", REC_SCRIPT, "--from", gen, "--out", path.join(work, `rec-${i}`)], c.kill, REC_STEPS, "recovery", genFingerprint)),
    );
    summarise("recovery kill/resume:", outcomes);
    const failures = outcomes.filter((o) => o.problems.length).map((o) => `${o.name} (killed ${o.killedAt}, resumed at ${o.resumedAt}):\n  ${o.problems.join("\n  ")}`);
    expect(failures, failures.join("\n\n")).toEqual([]);
    for (const [i, o] of outcomes.slice(0, REC_STEPS.length - 1).entries()) expect(o.resumedAt, o.name).toBeGreaterThanOrEqual(i + 2);
    expect(custos(["verify", path.join(work, "rec-0", "transcript.sqlite")]).status).toBe(0);
    // Killed recoveries read their source; none of them changed it.
    expect(folderDigest(gen)).toBe(genDigest);
  }, 240_000);
});
