// One writer per ceremony (Invariant 11): two `custos rehearse` on one folder,
// started at the same moment, many times over. Exactly one proceeds; the other
// is refused at once with the holder's process id. The one that proceeds is
// stopped as soon as it says it runs (so the race repeats on the same folder),
// then SIGKILLed; at the end a resume finishes the ceremony and it verifies,
// with one token and every step recorded once.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import type { RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { loadScriptFile } from "../../electron/core/script/load";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { OPEN_ACTION } from "../../electron/core/transcript/types";
import { CLI, ROOT } from "../helpers/files";

const GEN = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const STEPS = loadScriptFile(GEN).script.steps.map((s) => s.id);
// Each CLI race costs two Node starts; the lock race below repeats many more times cheaply.
const REPS = Number(process.env.CUSTOS_RACE_REPS ?? 4);
const LOCK_REPS = Number(process.env.CUSTOS_LOCK_RACE_REPS ?? 40);
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-race-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Racer {
  pid: number;
  proceeded: boolean;
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Starts the same command twice at once; stops whichever says it runs; returns both once the other has exited. */
function race(args: string[]): Promise<[Racer, Racer]> {
  return new Promise((resolve, reject) => {
    const racers: Racer[] = [];
    const children = [0, 1].map(() => spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
    let closed = 0;
    const timer = setTimeout(() => {
      for (const c of children) c.kill("SIGKILL");
      reject(new Error(`race did not settle: ${JSON.stringify(racers)}`));
    }, 90_000);
    children.forEach((child, i) => {
      const r: Racer = { pid: child.pid!, proceeded: false, stdout: "", stderr: "", code: null, signal: null };
      racers[i] = r;
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (c: string) => {
        r.stdout += c;
        // Printed once the folder lock is held and the ceremony is open.
        if (!r.proceeded && /^REHEARSAL (?!complete)\S+: /m.test(r.stdout)) {
          r.proceeded = true;
          child.kill("SIGSTOP");
          const other = children[1 - i]!;
          // If the other has already exited, nothing holds the race open: end the winner now.
          if (other.exitCode !== null || other.signalCode !== null) child.kill("SIGKILL");
        }
      });
      child.stderr.on("data", (c: string) => (r.stderr += c));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        r.code = code;
        r.signal = signal;
        // The first to exit ends the race: the stopped winner (if any) is killed.
        for (const c of children) if (c !== child && c.exitCode === null && c.signalCode === null && racers[children.indexOf(c)]!.proceeded) c.kill("SIGKILL");
        if (++closed === 2) {
          clearTimeout(timer);
          resolve([racers[0]!, racers[1]!]);
        }
      });
    });
  });
}

function expectExactlyOne([a, b]: [Racer, Racer], what: string): void {
  const winners = [a, b].filter((r) => r.proceeded);
  expect(winners.length, `${what}: ${JSON.stringify([a, b], null, 1)}`).toBe(1);
  const winner = winners[0]!;
  const loser = winner === a ? b : a;
  expect(loser.code, `${what}: ${loser.stderr}`).toBe(1);
  expect(loser.stderr).toMatch(new RegExp(`is in use by process ${winner.pid} on \\S+ \\(custos rehearse`));
  expect(loser.stderr).toMatch(/only one run may write a ceremony at a time/);
  expect(loser.stderr).not.toMatch(/\n\s+at /);
  expect(winner.signal).toBe("SIGKILL");
}

async function cli(args: string[]) {
  const lines: string[] = [];
  const status = await main(args, { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  return { status, text: lines.join("\n") };
}

/** The finished folder: verifies, one token, every step once. */
function checkFolder(folder: string): void {
  const info = JSON.parse(fs.readFileSync(path.join(folder, "rehearsal.json"), "utf8")) as RehearsalFile;
  expect(fs.readdirSync(path.join(folder, "softhsm-tokens")).length).toBe(1);
  const store = TranscriptStore.openReadOnly(path.join(folder, "transcript.sqlite"));
  try {
    expect(store.listCeremonies().map((c) => c.id)).toEqual([info.ceremonyId]);
    // Every script step exactly once (the opening entry, format 2's first, is not a step).
    expect(store.entries(info.ceremonyId).filter((e) => e.body.action !== OPEN_ACTION).map((e) => e.body.stepId)).toEqual(STEPS);
  } finally {
    store.close();
  }
  expect(fs.readdirSync(folder).filter((f) => f.endsWith(".custos-tmp"))).toEqual([]);
}

describe("concurrent runs on one folder: exactly one proceeds, every time", () => {
  it(`two --resume of one interrupted folder, ${REPS} times`, async () => {
    const folder = path.join(dir, "resumed");
    // An interrupted rehearsal to fight over: the first race starts it.
    expectExactlyOne(await race(["rehearse", GEN, "--out", folder]), "start");
    for (let i = 0; i < REPS; i++) expectExactlyOne(await race(["rehearse", "--resume", folder]), `repetition ${i + 1}`);
    const done = await cli(["rehearse", "--resume", folder]);
    expect(done.status, done.text).toBe(0);
    expect(done.text).toMatch(/taking over .* from an interrupted run \(process \d+/);
    expect((await cli(["verify", path.join(folder, "transcript.sqlite")])).status).toBe(0);
    checkFolder(folder);
  }, 300_000);

  it(`two new rehearsals into one new folder, ${Math.ceil(REPS / 2)} times`, async () => {
    for (let i = 0; i < Math.ceil(REPS / 2); i++) {
      const folder = path.join(dir, `new-${i}`);
      expectExactlyOne(await race(["rehearse", GEN, "--out", folder]), `repetition ${i + 1}`);
      // The one that proceeded made one ceremony and at most one token.
      expect(fs.readdirSync(path.join(folder, "softhsm-tokens")).length).toBeLessThanOrEqual(1);
    }
  });

  it(`the folder claim itself, raced by two processes started together, ${LOCK_REPS} times (new and existing folders)`, async () => {
    // The same claim code the CLI runs, bundled so a racer starts in tens of milliseconds.
    const bundle = path.join(dir, "folder.cjs");
    buildSync({ entryPoints: [path.join(ROOT, "electron", "core", "rehearse", "folder.ts")], bundle: true, platform: "node", format: "cjs", outfile: bundle, external: ["better-sqlite3"], logLevel: "error" });
    const racer = path.join(dir, "racer.cjs");
    fs.writeFileSync(
      racer,
      `const { claimNewFolder, claimExistingFolder } = require(${JSON.stringify(bundle)});
const fs = require("fs"); const path = require("path");
const [mode, folder, at] = process.argv.slice(2);
while (Date.now() < Number(at)) {} // both racers leave the barrier together
try {
  if (mode === "new") { claimNewFolder(folder, "racer"); fs.writeFileSync(path.join(folder, "transcript.sqlite"), "x"); }
  else claimExistingFolder(folder, "racer");
  console.log("proceeded " + process.pid);
  process.stdin.resume(); process.stdin.on("end", () => process.exit(0)); // hold the lock until the test has both answers
} catch (e) { console.log("refused " + e.code + " " + e.message); process.exit(1); }
`,
    );
    const once = (mode: "new" | "existing", folder: string) =>
      new Promise<string[]>((resolve, reject) => {
        const at = Date.now() + 100;
        const outs: string[] = [];
        const kids = [0, 1].map(() => spawn(process.execPath, [racer, mode, folder, String(at)], { env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") }, stdio: ["pipe", "pipe", "pipe"] }));
        let closed = 0;
        kids.forEach((k) => {
          let buf = "";
          k.stdout.setEncoding("utf8");
          k.stdout.on("data", (c: string) => {
            buf += c;
            if (buf.endsWith("\n")) {
              outs.push(buf.trim());
              if (outs.length === 2) for (const x of kids) x.stdin.end();
            }
          });
          k.stderr.on("data", (c) => reject(new Error(String(c))));
          k.on("close", () => ++closed === 2 && resolve(outs));
        });
      });
    const existing = path.join(dir, "existing");
    fs.mkdirSync(existing);
    let sawLocked = 0;
    for (let i = 0; i < LOCK_REPS; i++) {
      for (const [mode, folder] of [["new", path.join(dir, `lock-new-${i}`)], ["existing", existing]] as const) {
        const outs = await once(mode, folder);
        const proceeded = outs.filter((o) => o.startsWith("proceeded"));
        expect(proceeded.length, `${mode} #${i}: ${outs.join(" | ")}`).toBe(1);
        const refused = outs.find((o) => o.startsWith("refused"))!;
        // Refused by the lock, naming the holder; a new folder may also be refused as no longer empty.
        expect(refused, `${mode} #${i}`).toMatch(mode === "new" ? /^refused (FOLDER_LOCKED .*in use by process \d+|REHEARSAL_OUT .*not empty)/ : new RegExp(`^refused FOLDER_LOCKED .*in use by process ${proceeded[0]!.split(" ")[1]} `));
        if (refused.includes("FOLDER_LOCKED")) sawLocked++;
      }
    }
    expect(sawLocked).toBeGreaterThan(LOCK_REPS); // the races really overlapped, not ran one after the other
  }, 300_000);
});
