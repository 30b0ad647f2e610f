// Invariant 11 under faults. The real `custos` command runs under strace,
// which makes one chosen write fail (ENOSPC, EIO) or kills the process there
// (SIGKILL), at representative write sites of a rehearsal, of a resume that
// rewrites finished outputs, and of report/export over an existing file. A
// tmpfs too small for a rehearsal and a read-only one (in a mount namespace of
// the test's own) give real ENOSPC and EROFS. For every case: a message that
// says what happened, what is intact and what to do (never a stack trace), no
// previously good file lost or truncated, and `--resume` completes to a
// transcript that verifies.
//
// How a site is addressed: every file Custos writes goes through
// writeFileAtomic, the only caller of fdatasync(2) in the process (SQLite uses
// fsync), so "the k-th fdatasync" is "the k-th file written", in a fixed order
// that a traced baseline run lists with its path. SQLite commits are addressed
// on transcript.sqlite-wal with strace -P.
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import type { RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { loadScriptFile } from "../../electron/core/script/load";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { OPEN_ACTION } from "../../electron/core/transcript/types";
import { CLI, ROOT, walk } from "../helpers/files";
import { run } from "../helpers/spawn";

const GEN = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const STEPS = loadScriptFile(GEN).script.steps.map((s) => s.id);
// --seccomp-bpf stops only the traced calls (fast), but strace 6.1 then does not deliver an injected signal.
const STRACE = ["strace", "-f", "-qq", "-o", "/dev/null"];
const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const canUnshare = hasStrace && process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;
let work: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], wrap: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = [...wrap, process.execPath, CLI, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    // strace passes the traced program's fate on: its exit code, or its signal as 128+n.
    child.on("close", (code, signal) => resolve({ code, signal: signal ?? (code === 137 ? "SIGKILL" : null), stdout, stderr }));
  });
}

/** The files a command writes, in order, as a traced run lists them (the k-th is fdatasync number k). */
async function writeSites(args: string[]): Promise<string[]> {
  const trace = path.join(work, `trace-${crypto.randomBytes(4).toString("hex")}.txt`);
  const r = await runCli(args, ["strace", "-f", "-qq", "--seccomp-bpf", "-y", "-e", "trace=fdatasync", "-o", trace]);
  expect(r.code, r.stderr).toBe(0);
  const lines = fs.readFileSync(trace, "utf8").split("\n").filter((l) => l.includes("fdatasync("));
  // Only the main thread writes files; strace counts `when=` per thread.
  const main = lines[0]!.split(/\s+/)[0];
  return lines.filter((l) => l.split(/\s+/)[0] === main).map((l) => /<([^>]+)>/.exec(l)![1]!.replace(/\/\.([^/]+)\.\d+\.custos-tmp$/, "/$1"));
}

const inject = (what: string, k: number, extra: string[] = []) => [...STRACE, ...(what.includes("signal=") ? [] : ["--seccomp-bpf"]), ...extra, "-e", `trace=${what.split(":")[0]}`, "-e", `inject=${what}:when=${k}`];

/** Files that must be whole wherever a run stopped: parseable, complete, never a truncated mix. */
function wholeProblems(dir: string, allowTemps: boolean): string[] {
  const problems: string[] = [];
  for (const rel of walk(dir)) {
    const p = path.join(dir, rel);
    const data = fs.readFileSync(p);
    const name = path.basename(rel);
    if (name.endsWith(".custos-tmp")) {
      if (!allowTemps) problems.push(`temporary file left: ${rel}`);
      continue;
    }
    if (rel.startsWith("softhsm-tokens") || name.startsWith("transcript.sqlite") || name === ".custos-lock") continue;
    if (name.endsWith(".json")) {
      try {
        JSON.parse(data.toString("utf8"));
      } catch {
        problems.push(`${rel} is not whole JSON (${data.length} bytes)`);
      }
    } else if (name.endsWith(".pdf")) {
      if (!data.subarray(0, 5).equals(Buffer.from("%PDF-")) || !data.subarray(-32).toString("latin1").includes("%%EOF")) problems.push(`${rel} is not a whole PDF (${data.length} bytes)`);
    } else if (name.endsWith(".pem")) {
      if (!/-----END [A-Z ]+-----\n?$/.test(data.toString("utf8"))) problems.push(`${rel} is not a whole PEM`);
    } else if (name.endsWith(".txt") && rel.startsWith("shares")) {
      if (!/^words: (\S+ ){20,}\S+$/m.test(data.toString("utf8"))) problems.push(`${rel} is not a whole share text`);
    } else if (data.length === 0) problems.push(`${rel} is empty`);
  }
  return problems;
}

/** A message for a person: one or two lines, no stack trace, naming what happened and what to do. */
function expectPlainMessage(r: Run, what: RegExp, next: RegExp): void {
  expect(r.stderr, r.stderr).toMatch(what);
  expect(r.stderr, r.stderr).toMatch(next);
  expect(r.stderr).not.toMatch(/\n\s+at |node:internal|\.ts:\d+|Error:/);
}

/** `custos verify` through the command's own entry point, in-process (a Node start saved per check). */
async function verifyStatus(file: string): Promise<number> {
  return main(["verify", file], { out: () => {}, err: () => {} });
}

/** The folder after a resume: complete, verifying, whole, one token, every step once. */
async function expectFinished(dir: string): Promise<void> {
  expect(await verifyStatus(path.join(dir, "transcript.sqlite"))).toBe(0);
  expect(await verifyStatus(path.join(dir, "bundle.json"))).toBe(0);
  expect(wholeProblems(dir, false)).toEqual([]);
  const info = JSON.parse(fs.readFileSync(path.join(dir, "rehearsal.json"), "utf8")) as RehearsalFile;
  const store = TranscriptStore.openReadOnly(path.join(dir, "transcript.sqlite"));
  try {
    // Every script step exactly once (the opening entry, format 2's first, is not a step).
    expect(store.entries(info.ceremonyId).filter((e) => e.body.action !== OPEN_ACTION).map((e) => e.body.stepId)).toEqual(STEPS);
  } finally {
    store.close();
  }
  expect(fs.readdirSync(path.join(dir, "softhsm-tokens")).length).toBe(1);
}

/** Runs jobs two at a time (a strace'd run waits on its tracer half the time). */
async function pool<T>(jobs: Array<() => Promise<T>>, width = 2): Promise<T[]> {
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

let sites: string[];
let done: string; // a finished rehearsal (the traced baseline)
const table: string[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-faults-"));
  if (!hasStrace) return;
  done = path.join(work, "baseline");
  sites = (await writeSites(["rehearse", GEN, "--out", done])).map((p) => path.relative(done, p));
}, 120_000);
afterAll(() => {
  if (table.length) console.log(`fault injection (site, fault, outcome):\n${table.join("\n")}`);
  fs.rmSync(work, { recursive: true, force: true });
});

/** The index (1-based) of the first write of a file matching re. */
function site(re: RegExp): number {
  const i = sites.findIndex((s) => re.test(s));
  expect(i, `no write site ${re} in ${sites.join(", ")}`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

describe.skipIf(!hasStrace)("a fault at a write site of a rehearsal: a plain message, nothing good lost, and --resume finishes", () => {
  it("the baseline lists every file Custos writes, in order, each through the atomic writer", () => {
    for (const want of [/^\.custos-lock\.json$/, /^softhsm2\.conf$/, /^rehearsal\.json$/, /^softhsm-token-copies\//, /^share-cards\/share-01/, /^shares\/share-01/, /^root-public\.pem$/, /^root-cert\.pem$/, /^backup\.json$/, /^printed-report\.pdf$/, /^bundle\.json$/, /^report\.pdf$/]) site(want);
    // Every file in the finished folder (SQLite's and SoftHSM's own aside) came through it.
    const written = new Set(sites);
    for (const f of walk(done).filter((f) => !/^(transcript\.sqlite|softhsm-tokens\/|\.custos-lock$)/.test(f))) expect(written.has(f), f).toBe(true);
  });

  // Before rehearsal.json exists nothing can have begun: a failed start leaves nothing behind, and
  // a start killed there leaves only its own leftovers, which the same command clears and starts again.
  it.each([
    ["the lock holder's note", /^\.custos-lock\.json$/],
    ["softhsm2.conf", /^softhsm2\.conf$/],
    ["rehearsal.json", /^rehearsal\.json$/],
  ])("ENOSPC writing %s: refused, and no --out folder is left", async (name, re) => {
    const dir = path.join(work, `start-${name.replace(/\W+/g, "-")}`);
    const r = await runCli(["rehearse", GEN, "--out", dir], inject("fdatasync:error=ENOSPC", site(re)));
    expect(r.code, r.stderr).toBe(1);
    expectPlainMessage(r, /failed: the disk is full/, /Free some space .*then run the same command again/);
    expect(r.stderr).toMatch(/Nothing was left in/);
    expect(fs.existsSync(dir)).toBe(false);
    table.push(`${name} | ENOSPC | refused before the ceremony existed; no folder left`);
  });

  // (A kill writing softhsm2.conf leaves the same kind of leftovers; one case, as a kill is traced without seccomp, slowly.)
  it.each([["rehearsal.json", /^rehearsal\.json$/]])("killed writing %s: the same command starts again in that folder and finishes", async (name, re) => {
    const dir = path.join(work, `start-kill-${name.replace(/\W+/g, "-")}`);
    const r = await runCli(["rehearse", GEN, "--out", dir], inject("fdatasync:signal=KILL", site(re)));
    expect(r.signal).toBe("SIGKILL");
    expect(fs.existsSync(path.join(dir, "rehearsal.json"))).toBe(false);
    const resume = await runCli(["rehearse", "--resume", dir]);
    expect(resume.code).toBe(1);
    expectPlainMessage(resume, /has no rehearsal\.json/, /run the same `custos rehearse … --out /);
    const again = await runCli(["rehearse", GEN, "--out", dir]);
    expect(again.code, again.stderr).toBe(0);
    await expectFinished(dir);
    table.push(`${name} | KILL | nothing recorded yet; the same command clears the leftovers and finishes`);
  });

  // Representative sites, one per kind of file and phase (CUSTOS_FAULT_SITES=all: ENOSPC at every
  // write the baseline lists after rehearsal.json, about 25 runs more).
  const cases: Array<[string, RegExp, "ENOSPC" | "EIO" | "KILL"]> =
    process.env.CUSTOS_FAULT_SITES === "all"
      ? []
      : [
          ["token snapshot (softhsm-token-copies)", /^softhsm-token-copies\//, "ENOSPC"],
          ["token snapshot (softhsm-token-copies)", /^softhsm-token-copies\//, "KILL"],
          ["share card 3 (share-cards/)", /^share-cards\/share-03/, "ENOSPC"],
          ["share text 5 (shares/)", /^shares\/share-05/, "KILL"],
          ["backup.json", /^backup\.json$/, "ENOSPC"],
          ["printed-report.pdf", /^printed-report\.pdf$/, "ENOSPC"],
          ["report.pdf (after the seal)", /^report\.pdf$/, "ENOSPC"],
          ["report.pdf (after the seal)", /^report\.pdf$/, "KILL"],
        ];

  it(`${cases.length || "every"} site${cases.length === 1 ? "" : "s"}: ${cases.map(([n, , f]) => `${f} at ${n}`).join("; ") || "ENOSPC at each"}`, async () => {
    const all = cases.length
      ? cases.map(([name, re, fault]) => ({ name, k: site(re), fault }))
      : sites.map((name, i) => ({ name: `#${i + 1} ${name}`, k: i + 1, fault: "ENOSPC" as const })).slice(site(/^rehearsal\.json$/));
    const outcomes = await pool(
      all.map(({ name, k, fault }, i) => async () => {
        const dir = path.join(work, `case-${i}`);
        const how = fault === "KILL" ? "fdatasync:signal=KILL" : `fdatasync:error=${fault}`;
        const first = await runCli(["rehearse", GEN, "--out", dir], inject(how, k));
        const problems: string[] = [];
        if (fault === "KILL") {
          if (first.signal !== "SIGKILL") problems.push(`not killed: ${first.code} ${first.stderr}`);
        } else {
          if (first.code !== 1) problems.push(`exit ${first.code}: ${first.stderr}`);
          const what = fault === "ENOSPC" ? /the disk is full/ : /input\/output error/;
          if (!what.test(first.stderr) || !/--resume /.test(first.stderr) || /\n\s+at |Error:/.test(first.stderr)) problems.push(`message: ${first.stderr}`);
          if (!/kept in .*transcript\.sqlite|complete in .*transcript\.sqlite/.test(first.stderr)) problems.push(`does not say what is intact: ${first.stderr}`);
        }
        problems.push(...wholeProblems(dir, fault === "KILL").map((p) => `after the fault: ${p}`));
        const resumed = await runCli(["rehearse", "--resume", dir]);
        if (resumed.code !== 0) problems.push(`--resume exited ${resumed.code}: ${resumed.stderr}`);
        else {
          try {
            await expectFinished(dir);
          } catch (e) {
            problems.push(`after --resume: ${(e as Error).message}`);
          }
        }
        const said = first.stderr.split("\n")[0]!.replace(/^custos rehearse: /, "").replace(work, "…");
        table.push(`${name} | ${fault} | ${fault === "KILL" ? "killed" : said} → --resume ${resumed.code === 0 ? "verifies" : "FAILED"}`);
        return { name: `${fault} at ${name}`, problems };
      }),
    );
    const failed = outcomes.filter((o) => o.problems.length);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
  }, 600_000);

  it("SQLite commits: ENOSPC on the WAL write and EIO on its fsync stop the step, and --resume finishes", async () => {
    const outcomes = await pool(
      (
        [
          ["ENOSPC", "pwrite64:error=ENOSPC", 30, /the disk is full/],
          ["EIO", "fsync:error=EIO", 6, /input\/output error/],
        ] as const
      ).map(([fault, how, k, what], i) => async () => {
        const dir = path.join(work, `sqlite-${i}`);
        const first = await runCli(["rehearse", GEN, "--out", dir], inject(how, k, ["-P", path.join(dir, "transcript.sqlite-wal")]));
        const problems: string[] = [];
        if (first.code !== 1 || !what.test(first.stderr) || !/Step \d+ of 16\b.*failed/.test(first.stderr) || /\n\s+at /.test(first.stderr)) problems.push(`first run: ${first.code} ${first.stderr}`);
        if (!/Every step recorded so far is kept in .*transcript\.sqlite/.test(first.stderr)) problems.push(`does not say what is intact: ${first.stderr}`);
        problems.push(...wholeProblems(dir, false));
        const resumed = await runCli(["rehearse", "--resume", dir]);
        if (resumed.code !== 0) problems.push(`--resume: ${resumed.stderr}`);
        else await expectFinished(dir).catch((e: Error) => problems.push(e.message));
        table.push(`transcript.sqlite commit (WAL) | ${fault} | ${first.stderr.split("\n")[0]!.replace(/^custos rehearse: /, "").replace(work, "…")} → --resume ${resumed.code === 0 ? "verifies" : "FAILED"}`);
        return problems;
      }),
    );
    expect(outcomes.flat()).toEqual([]);
  }, 300_000);

  it("SQLite: ENOSPC while the ceremony's row is created; --resume creates it and finishes", async () => {
    const dir = path.join(work, "sqlite-start");
    const r = await runCli(["rehearse", GEN, "--out", dir], inject("pwrite64:error=ENOSPC", 12, ["-P", path.join(dir, "transcript.sqlite-wal")]));
    expect(r.code).toBe(1);
    expectPlainMessage(r, /the disk is full/, /then run `custos rehearse --resume /);
    const resumed = await runCli(["rehearse", "--resume", dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectFinished(dir);
    table.push(`transcript.sqlite, creating the ceremony | ENOSPC | ${r.stderr.split("\n")[0]!.replace(/^custos rehearse: /, "").replace(work, "…")} → --resume verifies`);
  }, 120_000);
});

describe.skipIf(!hasStrace)("a previously good file survives a fault while it is being replaced", () => {
  it("a resume of a finished folder rewrites bundle.json and report.pdf: ENOSPC or a kill there keeps the old ones byte for byte", async () => {
    const dir = path.join(work, "rewrite");
    fs.cpSync(done, dir, { recursive: true });
    // The copy must point at its own token: rehearsal.json names absolute paths.
    const info = fs.readFileSync(path.join(dir, "rehearsal.json"), "utf8").split(done).join(dir);
    fs.writeFileSync(path.join(dir, "rehearsal.json"), info);
    fs.writeFileSync(path.join(dir, "softhsm2.conf"), fs.readFileSync(path.join(dir, "softhsm2.conf"), "utf8").split(done).join(dir));
    const resumeSites = (await writeSites(["rehearse", "--resume", dir])).map((p) => path.relative(dir, p));
    const hash = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, f))).digest("hex");
    const before = { bundle: hash("bundle.json"), report: hash("report.pdf") };
    for (const [target, how] of [
      ["bundle.json", "fdatasync:error=ENOSPC"],
      ["report.pdf", "fdatasync:error=ENOSPC"],
      ["report.pdf", "fdatasync:signal=KILL"],
    ] as const) {
      const k = resumeSites.indexOf(target) + 1;
      expect(k).toBeGreaterThan(0);
      const r = await runCli(["rehearse", "--resume", dir], inject(how, k));
      if (how.includes("KILL")) expect(r.signal).toBe("SIGKILL");
      else {
        expect(r.code).toBe(1);
        expectPlainMessage(r, /the disk is full/, /then run `custos rehearse --resume /);
        expect(r.stderr).toMatch(/The ceremony is complete in .*transcript\.sqlite; only the final bundle or report is missing/);
      }
      expect({ bundle: hash("bundle.json"), report: hash("report.pdf") }, `${how} at ${target}`).toEqual(before);
      table.push(`${target}, rewritten by a resume | ${how.includes("KILL") ? "KILL" : "ENOSPC"} | the previous ${target} kept byte for byte`);
    }
    expect((await runCli(["rehearse", "--resume", dir])).code).toBe(0);
    expect(wholeProblems(dir, false)).toEqual([]);
    expect({ bundle: hash("bundle.json"), report: hash("report.pdf") }).toEqual(before); // reproducible outputs
  }, 300_000);

  it("report/export --force over an existing file: ENOSPC, EIO or a kill keeps the old file; no temporary file after an error", async () => {
    const out = path.join(work, "exports");
    fs.mkdirSync(out);
    const t = path.join(done, "transcript.sqlite");
    for (const [cmd, file] of [
      ["export", "bundle.json"],
      ["report", "report.pdf"],
    ] as const) {
      const target = path.join(out, file);
      fs.copyFileSync(path.join(done, file), target);
      const good = fs.readFileSync(target);
      for (const how of ["fdatasync:error=ENOSPC", "fdatasync:error=EIO", "fdatasync:signal=KILL"]) {
        const r = await runCli([cmd, t, "--out", target, "--force"], inject(how, 1));
        if (how.includes("KILL")) expect(r.signal).toBe("SIGKILL");
        else {
          expect(r.code).toBe(1);
          expectPlainMessage(r, how.includes("ENOSPC") ? /failed: the disk is full/ : /failed: the disk reported an input\/output error/, /then run the command again/);
          expect(r.stderr).toMatch(new RegExp(`any earlier ${file.replace(".", "\\.")} is still whole`));
          expect(fs.readdirSync(out).filter((f) => f.endsWith(".custos-tmp"))).toEqual([]);
        }
        expect(fs.readFileSync(target).equals(good), `${cmd} ${how}`).toBe(true);
        table.push(`${cmd} --out FILE --force | ${how.includes("KILL") ? "KILL" : how.split("=")[1]} | the earlier ${file} kept byte for byte`);
      }
      // The killed run's temporary file is removed by the next write to the same file, which succeeds.
      expect(fs.readdirSync(out).filter((f) => f.endsWith(".custos-tmp")).length).toBe(1);
      const again = await runCli([cmd, t, "--out", target, "--force"]);
      expect(again.code, again.stderr).toBe(0);
      expect(fs.readdirSync(out).filter((f) => f.endsWith(".custos-tmp"))).toEqual([]);
    }
  }, 300_000);
});

/** Runs a bash script in a private mount namespace of the test's own (root only). */
async function inNamespace(script: string): Promise<{ status: number | null; out: string }> {
  const r = await run("unshare", ["-m", "bash", "-c", `set -u\n${script}`], { cwd: ROOT, timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!canUnshare)("real file systems: a full tmpfs and a read-only one, in a mount namespace", () => {
  it("a rehearsal on a tmpfs too small for it stops with 'the disk is full'; with room again, --resume finishes and verifies", async () => {
    const mnt = path.join(work, "small");
    const copy = path.join(work, "small-copy");
    fs.mkdirSync(mnt);
    const node = `"${process.execPath}" "${CLI}"`;
    const r = await inNamespace(`mount -t tmpfs -o size=300k custos-small "${mnt}"
${node} rehearse "${GEN}" --out "${mnt}/r" > "${work}/small.out" 2> "${work}/small.err"; echo "first=$?"
mount -o remount,size=16m "${mnt}"
${node} rehearse --resume "${mnt}/r" > "${work}/small-resume.out" 2>&1; echo "resume=$?"
cp -a "${mnt}/r" "${copy}"`);
    expect(r.out).toMatch(/first=1/);
    const err = fs.readFileSync(path.join(work, "small.err"), "utf8");
    expectPlainMessage({ code: 1, signal: null, stdout: "", stderr: err }, /the disk is full/, /Free some space .*then run `custos rehearse --resume /);
    expect(r.out, fs.readFileSync(path.join(work, "small-resume.out"), "utf8")).toMatch(/resume=0/);
    // The copy names the tmpfs paths; verify and wholeness do not need the token.
    expect(await verifyStatus(path.join(copy, "transcript.sqlite"))).toBe(0);
    expect(wholeProblems(copy, false)).toEqual([]);
    table.push(`tmpfs of 300 KiB (real ENOSPC) | ENOSPC | ${err.split("\n")[0]!.replace(/^custos rehearse: /, "").replace(work, "…")} → room again, --resume verifies`);
  }, 300_000);

  it("a read-only medium: its evidence is read, and every write is refused with 'read-only' and nothing changed", async () => {
    const mnt = path.join(work, "ro");
    fs.mkdirSync(mnt);
    const node = `"${process.execPath}" "${CLI}"`;
    const outs = path.join(work, "ro-outs");
    fs.mkdirSync(outs);
    const r = await inNamespace(`mount -t tmpfs custos-ro "${mnt}"
cp -a "${done}" "${mnt}/r"
sha() { (cd "${mnt}/r" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
before=$(sha)
mount -o remount,ro "${mnt}"
${node} export "${mnt}/r/transcript.sqlite" --out "${outs}/bundle.json"; echo "export-from-ro=$?"
${node} verify "${mnt}/r/transcript.sqlite" > /dev/null; echo "verify-ro=$?"
${node} report "${outs}/../baseline/transcript.sqlite" --out "${mnt}/r/again.pdf"; echo "report-to-ro=$?"
${node} rehearse --resume "${mnt}/r"; echo "resume-ro=$?"
${node} rehearse "${GEN}" --out "${mnt}/new"; echo "new-ro=$?"
[ "$before" = "$(sha)" ] && echo unchanged=yes
[ -e "${mnt}/new" ] || echo new-absent=yes`);
    expect(r.out).toMatch(/export-from-ro=0/);
    expect(r.out).toMatch(/verify-ro=0/);
    expect(r.out).toMatch(/report-to-ro=1/);
    expect(r.out).toMatch(/resume-ro=1/);
    expect(r.out).toMatch(/new-ro=1/);
    expect(r.out).toMatch(/unchanged=yes/);
    expect(r.out).toMatch(/new-absent=yes/);
    expect(r.out).toMatch(/custos report: Writing .*again\.pdf failed: the file system is read-only/);
    expect(r.out).toMatch(/custos rehearse: .*read-only/);
    expect(r.out).not.toMatch(/\n\s+at |Error:/);
    expect(fs.readFileSync(path.join(outs, "bundle.json")).equals(fs.readFileSync(path.join(done, "bundle.json")))).toBe(true);
    table.push("read-only tmpfs | EROFS | evidence on it reads and exports; report --out, --resume and a new rehearsal on it are refused ('read-only'), nothing changed");
  }, 300_000);

  it("a folder the user may not write: EACCES is named, the transcript is read", async () => {
    const locked = path.join(work, "not-mine");
    fs.mkdirSync(locked, { mode: 0o755 });
    const pub = path.join(work, "pub");
    fs.mkdirSync(pub, { mode: 0o755 });
    fs.chmodSync(work, 0o755);
    fs.copyFileSync(path.join(done, "transcript.sqlite"), path.join(pub, "transcript.sqlite"));
    fs.chmodSync(path.join(pub, "transcript.sqlite"), 0o644);
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "export", path.join(pub, "transcript.sqlite"), "--out", path.join(locked, "b.json")], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(1);
    expectPlainMessage({ code: 1, signal: null, stdout: "", stderr: r.stderr }, /Writing .*b\.json failed: permission denied/, /Check the folder's owner and permissions/);
    expect(r.stderr).not.toContain(".custos-tmp");
    table.push("folder not writable by the user | EACCES | 'permission denied', nothing written");
  });
});
