// Invariant 7, for real: the `custos` command is SIGKILLed at every step
// boundary (and at random points inside steps) of a generation and a recovery
// rehearsal, then `custos rehearse --resume DIR` finishes the ceremony. The
// finished folder must verify, hold every script step exactly once, and its
// token must hold exactly one root key pair and no secret key. Further cases
// place the kill exactly with strace (after a step's HSM work but before its
// entry is committed; inside SoftHSM's C_Login) and check that a resume keeps
// the options and the token state the interrupted run left.
import { spawn, spawnSync } from "node:child_process";
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

/** Runs the real command line as a child process, optionally SIGKILLing it at a point; `wrap` prefixes a command (strace). */
function runCli(args: string[], kill?: Kill, wrap: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = [...wrap, process.execPath, CLI, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
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
    .filter((b) => /object/i.test(b.split("\n")[0]!))
    .map((b) => ({ kind: b.split(";")[0]!.split("\n")[0]!.trim(), label: /^[ \t]*label:[ \t]*(.*)$/m.exec(b)?.[1]?.trim() ?? "" }));
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
    // Script steps only: the opening entry and any deviation (e.g. a resume) are not steps.
    const ids = entries.filter((e) => !["open-ceremony", "deviation"].includes(e.body.action)).map((e) => e.body.stepId);
    const seqs = entries.map((e) => e.body.seq);
    if (entries[0]?.body.action !== "open-ceremony") problems.push("the transcript does not start with its opening entry");
    if (JSON.stringify(ids) !== JSON.stringify(steps)) problems.push(`step ids ${JSON.stringify(ids)} differ from the script's ${JSON.stringify(steps)}`);
    if (JSON.stringify(seqs) !== JSON.stringify(entries.map((_, i) => i + 1))) problems.push(`sequence numbers ${JSON.stringify(seqs)}`);
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

/** Runs jobs three at a time: on two cores this keeps both busy while children wait on fsync. */
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
  it("generation: killed after each of steps 1..14 and at random points, resumes to a complete, verifiable ceremony with one key pair", async () => {
    const cases: Array<{ name: string; kill: Kill }> = [];
    for (let k = 1; k < GEN_STEPS.length; k++) cases.push({ name: `after step ${k} (${GEN_STEPS[k - 1]})`, kill: { kind: "after-step", k } });
    // The steps take ~1.2 s after step 1 on this machine (more under load), then bundle and report ~0.4 s.
    for (const [lo, hi] of [[0, 600], [600, 1200]] as const) {
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

  it("recovery (--from a generation rehearsal): killed after each of steps 1..10 and at random points, resumes with exactly one restored key pair on the target token", async () => {
    const cases: Array<{ name: string; kill: Kill }> = [];
    for (let k = 1; k < REC_STEPS.length; k++) cases.push({ name: `after step ${k} (${REC_STEPS[k - 1]})`, kill: { kind: "after-step", k } });
    for (const [lo, hi] of [[0, 250], [250, 800]] as const) {
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

// strace can stop a process on a chosen system call; used below to land a real
// SIGKILL at an exact point inside the PKCS#11 module.
const straceOk = spawnSync("strace", ["-f", "-o", "/dev/null", "true"]).status === 0;

/** Resumes `dir` under strace, SIGKILLed on entry to the first `syscall` on `file` (a real kill at an exact point). */
function resumeKilledOn(dir: string, file: string, syscall: string): Promise<Run> {
  return runCli(["rehearse", "--resume", dir], undefined, ["strace", "-f", "-o", "/dev/null", "-P", file, "-e", `trace=${syscall}`, "-e", `inject=${syscall}:signal=SIGKILL:when=1`]);
}

const killedBySigkill = (r: Run) => r.code === 137 || r.signal === "SIGKILL";

/** token.object files of a rehearsal folder's SoftHSM tokens, with their sizes. */
function tokenFiles(dir: string): Array<{ file: string; size: number }> {
  const root = path.join(dir, "softhsm-tokens");
  return walk(root)
    .filter((f) => f.endsWith("/token.object"))
    .map((f) => ({ file: path.join(root, f), size: fs.statSync(path.join(root, f)).size }));
}

/**
 * Sets a case up: a run SIGKILLed right after step k, in a fresh folder. Each HSM
 * step starts with a C_Login, which SoftHSM answers by rewriting token.object; a
 * setup kill that lands there (the bug the last case below pins down) is not the
 * case under test, so the setup is made again (said in the output).
 */
async function killedAfter(base: string, args: (dir: string) => string[], k: number, usable = (dir: string) => tokenFiles(dir).every((t) => t.size > 0)): Promise<string> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = `${base}-${attempt}`;
    const r = await runCli(args(dir), { kind: "after-step", k });
    expect(r.killed, r.stderr).toBe(true);
    if (usable(dir)) return dir;
    console.log(`${path.basename(base)}: the setup kill after step ${k} landed inside SoftHSM's rewrite of token.object (${JSON.stringify(tokenFiles(dir).map((t) => t.size))} bytes); setting up again`);
  }
  throw new Error(`${base}: three setup kills after step ${k} all left an unusable token`);
}

// The four cases are independent; they run side by side.
describe.concurrent(`kills placed exactly with strace${straceOk ? "" : " [skipped: strace cannot attach here (ptrace forbidden or strace missing)]"}`, () => {
  // The engine commits a step's entry with the first pwrite64() to transcript.sqlite-wal
  // of the run; a kill on that write lands after the step's HSM work and before
  // its record: the case Invariant 7 says is "detected rather than repeated blindly".
  it.skipIf(!straceOk)("generation: the root key pair is generated but its entry never committed; the resumed run destroys the orphans and makes one pair", async () => {
    const dir = await killedAfter(path.join(work, "commit-kill-generate"), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 7);
    const second = await resumeKilledOn(dir, path.join(dir, "transcript.sqlite-wal"), "pwrite64");
    expect(killedBySigkill(second), `${second.code} ${second.signal} ${second.stderr}`).toBe(true);
    expect(second.stdout).not.toMatch(/\[8\/16\]/);
    const third = await runCli(["rehearse", "--resume", dir]);
    expect(third.code, `custos rehearse --resume exited ${third.code}:\n${third.stderr}\n${third.stdout}`).toBe(0);
    expect(third.stdout).toMatch(/resuming at step 8/);
    const c = await checkFinished(dir, GEN_STEPS, "generation");
    expect(c.problems).toEqual([]);
    expect(c.orphans, "orphansDestroyed recorded by the resumed generate step").toBe(2);
  }, 60_000);

  it.skipIf(!straceOk)("generation: all five share cards handed out but the backup entry never committed; the resumed run issues new shares that recombine to backup.json's KCV", async () => {
    const dir = await killedAfter(path.join(work, "commit-kill-backup"), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 9);
    const second = await resumeKilledOn(dir, path.join(dir, "transcript.sqlite-wal"), "pwrite64");
    expect(killedBySigkill(second), `${second.code} ${second.signal} ${second.stderr}`).toBe(true);
    expect(second.stdout).toMatch(/share 5\/5 handed to/);
    const voided = fs.readdirSync(path.join(dir, "shares")).map((f) => fs.readFileSync(path.join(dir, "shares", f), "utf8"));
    const third = await runCli(["rehearse", "--resume", dir]);
    expect(third.code, `custos rehearse --resume exited ${third.code}:\n${third.stderr}\n${third.stdout}`).toBe(0);
    const c = await checkFinished(dir, GEN_STEPS, "generation");
    expect(c.problems).toEqual([]);
    const now = fs.readdirSync(path.join(dir, "shares")).map((f) => fs.readFileSync(path.join(dir, "shares", f), "utf8"));
    for (const v of voided) expect(now).not.toContain(v);
  }, 60_000);

  it.skipIf(!straceOk)("recovery: the key is unwrapped into the target token but the restore entry never committed; the resumed run destroys the orphans and restores one pair", async () => {
    const dir = await killedAfter(path.join(work, "commit-kill-restore"), (d) => ["rehearse", REC_SCRIPT, "--from", gen, "--out", d], 8);
    const second = await resumeKilledOn(dir, path.join(dir, "transcript.sqlite-wal"), "pwrite64");
    expect(killedBySigkill(second), `${second.code} ${second.signal} ${second.stderr}`).toBe(true);
    expect(second.stdout).toMatch(/shares for /);
    const third = await runCli(["rehearse", "--resume", dir]);
    expect(third.code, `custos rehearse --resume exited ${third.code}:\n${third.stderr}\n${third.stdout}`).toBe(0);
    expect(third.stdout).toMatch(/resuming at step 9/);
    const c = await checkFinished(dir, REC_STEPS, "recovery", genFingerprint);
    expect(c.problems).toEqual([]);
    expect(c.orphans, "orphansDestroyed recorded by the resumed restore step").toBe(2);
  }, 60_000);

  // SoftHSM2 creates a token object's file first, then writes its default
  // attributes one at a time (ftruncate + write each), then the template. A kill
  // in between leaves an object with no attributes at all (CKA_CLASS unreadable)
  // or an empty key of defaults, neither labelled: seen in CI after a timed kill
  // inside the key generation. The resumed run's ftruncate() calls are SQLite's
  // -shm, the two C_Logins' token.object, then the new object's file: kills on
  // the 5th..8th land inside C_GenerateKeyPair's first object.
  it.skipIf(!straceOk)("generation killed inside SoftHSM's C_GenerateKeyPair (an object without label, id or even a class left behind) resumes with one key pair and nothing else", async () => {
    const halfMade: string[] = [];
    for (const n of [5, 6, 8]) {
      const dir = await killedAfter(path.join(work, `half-made-${n}`), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 7);
      const second = await runCli(["rehearse", "--resume", dir], undefined, ["strace", "-f", "-o", "/dev/null", "-e", "trace=ftruncate", "-e", `inject=ftruncate:signal=SIGKILL:when=${n}`]);
      expect(killedBySigkill(second), `${second.code} ${second.signal} ${second.stderr}`).toBe(true);
      expect(second.stdout).not.toMatch(/\[8\/16\]/);
      const info = readJson<RehearsalFile>(path.join(dir, "rehearsal.json"));
      // pkcs11-tool lists an object without a class with a warning (CKR_ATTRIBUTE_VALUE_INVALID) as a "Data object".
      const left = tokenObjects(info).objects.filter((o) => o.label === "" || o.label === "<empty>");
      halfMade.push(...left.map((o) => `${n}: ${o.kind}`));
      if (!left.length) console.log(`kill on ftruncate #${n} left:\n${tokenObjects(info).raw}`);
      // The last one is resumed through a symbolic link to its folder: still its own token, still swept.
      const via = n === 8 ? `${dir}-link` : dir;
      if (via !== dir) fs.symlinkSync(dir, via);
      const third = await runCli(["rehearse", "--resume", via]);
      expect(third.code, `custos rehearse --resume exited ${third.code}:\n${third.stderr}\n${third.stdout}`).toBe(0);
      if (left.length) expect(third.stdout).toMatch(/half-made .* \(no label, no id\) on token "custos-root" destroyed/);
      const c = await checkFinished(dir, GEN_STEPS, "generation");
      expect(c.problems, `kill on ftruncate #${n}`).toEqual([]);
    }
    console.log(`half-made objects left by the kills: ${halfMade.join("; ")}`);
    // Both states were really exercised: an object without any attribute, and a key of defaults.
    expect(halfMade.some((h) => /Data object/.test(h)), halfMade.join("; ")).toBe(true);
    expect(halfMade.some((h) => /Key Object/.test(h)), halfMade.join("; ")).toBe(true);
  }, 120_000);

  // SoftHSM2's file backend rewrites token.object (ftruncate, then write; no
  // rename, no fsync) on every successful C_Login. A SIGKILL between the two
  // leaves an empty token.object, and the token, its token key and the root
  // key with it are gone. The step-boundary kills above land there now and
  // then ("after step 9" into the backup's SO login, "after step 15" into the
  // seal's user login); this case lands there every time.
  it.skipIf(!straceOk)("generation killed inside the seal step's C_Login (between SoftHSM's truncate and write of token.object) resumes to a sealed ceremony", async () => {
    // Killed during the report step (no HSM use), so the token is intact.
    const dir = await killedAfter(path.join(work, "login-kill"), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 13);
    const tokenFile = tokenFiles(dir)[0]!.file;
    const sizeBefore = fs.statSync(tokenFile).size;
    const second = await resumeKilledOn(dir, tokenFile, "write");
    expect(second.stdout).toMatch(/\[15\/16\] closing/);
    expect(second.stdout).not.toMatch(/\[16\/16\]/);
    expect(killedBySigkill(second), `${second.code} ${second.signal} ${second.stderr}`).toBe(true);
    console.log(`token.object: ${sizeBefore} bytes before, ${fs.statSync(tokenFile).size} bytes after the kill inside C_Login`);
    const third = await runCli(["rehearse", "--resume", dir]);
    expect(third.code, `custos rehearse --resume exited ${third.code}:\n${third.stderr}\n${third.stdout}`).toBe(0);
    const c = await checkFinished(dir, GEN_STEPS, "generation");
    expect(c.problems).toEqual([]);
  }, 60_000);
});

describe("resume keeps what the interrupted run had started", () => {
  it("a rehearsal started with --custodians 3 --threshold 2 --algorithm EC-P256 and killed before step 1 was recorded resumes with those settings", async () => {
    // rehearsal.json is written, and the ceremony row created, before the header
    // line is printed; step 1 (a checklist) is recorded a few ms later. Killing on
    // the header lands before it; if it did not, try again.
    let dir = "";
    for (let attempt = 1; attempt <= 3; attempt++) {
      dir = path.join(work, `settings-${attempt}`);
      const first = await runCli(["rehearse", GEN_SCRIPT, "--out", dir, "--custodians", "3", "--threshold", "2", "--algorithm", "EC-P256"], {
        kind: "after-line",
        pattern: /^REHEARSAL /,
        what: "header",
      });
      expect(first.killed).toBe(true);
      const r = await runCli(["rehearse", "--resume", dir]);
      if (/resuming at step/.test(r.stdout)) continue; // step 1 made it in before the kill: not the case under test
      expect(r.code, `custos rehearse --resume exited ${r.code}:\n${r.stderr}\n${r.stdout}`).toBe(0);
      const info = readJson<RehearsalFile>(path.join(dir, "rehearsal.json"));
      const store = TranscriptStore.openReadOnly(path.join(dir, "transcript.sqlite"));
      try {
        const e = store.entries(info.ceremonyId);
        expect(e[0]!.body.outputs.settings).toEqual({ algorithm: "EC-P256", shares: 3, threshold: 2 });
        expect((e.find((x) => x.body.stepId === "generate-root-key")!.body.inputs as { algorithm: string }).algorithm).toBe("EC-P256");
      } finally {
        store.close();
      }
      return;
    }
    throw new Error("three kills on the header line all landed after step 1 was recorded; the case was not exercised");
  }, 60_000);

  it("a rehearsal folder whose SoftHSM config was pointed at another folder's token sweeps nothing there on resuming", async () => {
    // The other token (a finished generation's copy) holds an object with neither label nor id.
    const other = path.join(work, "sweep-other");
    fs.cpSync(gen, other, { recursive: true });
    fs.writeFileSync(path.join(other, "softhsm2.conf"), fs.readFileSync(path.join(other, "softhsm2.conf"), "utf8").split(gen).join(other));
    const o = readJson<RehearsalFile>(path.join(gen, "rehearsal.json"));
    const otherConf = { SOFTHSM2_CONF: path.join(other, "softhsm2.conf") };
    tool("pkcs11-tool", ["--module", o.softhsm.modulePath, "--token-label", o.softhsm.tokenLabel, "--login", "--pin", o.softhsm.userPin, "--keypairgen", "--key-type", "EC:secp384r1"], otherConf);
    const unnamed = () => tool("pkcs11-tool", ["--module", o.softhsm.modulePath, "--token-label", o.softhsm.tokenLabel, "--login", "--pin", o.softhsm.userPin, "--list-objects"], otherConf).split(/\n(?=\S)/).filter((b) => /^[ \t]*label:[ \t]*$/m.test(b)).length;
    expect(unnamed()).toBe(2);
    // A rehearsal killed before its key generation, then edited: its config names the other token folder, its PIN is the other's.
    const dir = await killedAfter(path.join(work, "sweep-tampered"), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 7);
    const conf = path.join(dir, "softhsm2.conf");
    fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace(/^directories\.tokendir = .*$/m, `directories.tokendir = ${path.join(other, "softhsm-tokens")}`));
    const infoFile = path.join(dir, "rehearsal.json");
    const info = readJson<RehearsalFile>(infoFile);
    fs.writeFileSync(infoFile, JSON.stringify({ ...info, softhsm: { ...info.softhsm, userPin: o.softhsm.userPin } }));
    const r = await runCli(["rehearse", "--resume", dir]);
    expect(r.stdout).not.toMatch(/half-made/);
    expect(unnamed()).toBe(2);
  }, 60_000);

  it("init-token interrupted between C_InitToken and C_InitPIN (that token state, made with pkcs11-tool) resumes and generates the key", async () => {
    // The real window is a few ms inside Hsm.initToken; pkcs11-tool --init-token
    // without --init-pin leaves exactly the state a SIGKILL there leaves: an
    // initialised token labelled custos-root whose user PIN was never set.
    // Killed after select-token, before init-token touched the blank token.
    const dir = await killedAfter(path.join(work, "init-token"), (d) => ["rehearse", GEN_SCRIPT, "--out", d], 5, (d) => tokenFiles(d).length === 0);
    const info = readJson<RehearsalFile>(path.join(dir, "rehearsal.json"));
    tool("pkcs11-tool", ["--module", info.softhsm.modulePath, "--slot-index", "0", "--init-token", "--label", info.softhsm.tokenLabel, "--so-pin", info.softhsm.soPin], {
      SOFTHSM2_CONF: info.softhsm.configPath,
    });
    const r = await runCli(["rehearse", "--resume", dir]);
    expect(r.code, `custos rehearse --resume exited ${r.code}:\n${r.stderr}\n${r.stdout}`).toBe(0);
    const c = await checkFinished(dir, GEN_STEPS, "generation");
    expect(c.problems).toEqual([]);
  }, 60_000);
});
