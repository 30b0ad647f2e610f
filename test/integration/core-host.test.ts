// The core host as the desktop app runs it: the built bundle in a process of
// its own, driven through HostSupervisor and the protocol the Electron main
// process uses (only the launcher differs: child_process.fork here,
// utilityProcess.fork in Electron). Real SoftHSM2 token, real SQLite, real PDFs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionState } from "../../electron/core/app/service";
import { verdictOf } from "../helpers/verdict";
import { HostSupervisor, type SupervisorOptions } from "../../electron/main/host-supervisor";
import { ROOT } from "../helpers/files";
import { nodeLauncher } from "../helpers/host";
import { StateRoom, value } from "../helpers/state-room";

const tmps: string[] = [];
const sups: HostSupervisor[] = [];
const tmp = (p: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), p));
  tmps.push(d);
  return d;
};

afterEach(async () => {
  for (const s of sups.splice(0)) await s.stop();
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fake `lp` that keeps each job it is fed as a file, and says what CUPS says. */
function fakeLp(dir: string): string {
  const lp = path.join(dir, "lp");
  fs.writeFileSync(lp, `#!/bin/sh\nn=$(ls "${dir}/jobs" | wc -l)\ncat > "${dir}/jobs/job-$n.pdf"\necho "request id is fake-$n (1 file(s))"\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(dir, "jobs"));
  return lp;
}

function supervisor(over: Partial<SupervisorOptions> & { env?: NodeJS.ProcessEnv } = {}) {
  const dataDir = tmp("custos-host-data-");
  const lines: string[] = [];
  const { env, ...rest } = over;
  const launch = vi.fn(nodeLauncher(undefined, env));
  const s = new HostSupervisor({
    launch,
    init: { dataDir, resourcesDir: ROOT, kdfCost: "test" },
    log: (l) => lines.push(l),
    ...rest,
  });
  sups.push(s);
  return { s, dataDir, lines, launch };
}

const start = (s: HostSupervisor, custodians = 3) =>
  value<SessionState>(s.call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal", custodians, threshold: 2 }));

async function until(what: () => boolean | Promise<boolean>, ms = 20_000) {
  const t0 = Date.now();
  while (!(await what())) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the core host in its own process", () => {
  it("drives a whole generation rehearsal through the protocol, prints in the room, and offers the Done screen's actions", async () => {
    const printer = tmp("custos-printer-");
    const { s, dataDir } = supervisor({ env: { ...process.env, CUSTOS_LP_COMMAND: fakeLp(printer) } });
    expect(await s.start()).toBe(true);
    expect(s.pid).toBeGreaterThan(0);
    expect(s.pid).not.toBe(process.pid);
    expect(s.info?.modules).toBe(process.versions.modules);

    const info = await value<{ scripts: Array<{ file: string }> }>(s.call("app:info", {}));
    expect(info.scripts.map((x) => x.file)).toContain("root-key-generation.yaml");
    const started = await start(s);
    const room = new StateRoom((c, p) => s.call(c, p), { custodians: 3 });
    let st = started;
    while (!st.ceremony!.done) st = await room.runStep();
    expect(st.ceremony!.completed).toBe(16);
    expect(room.shares.size).toBe(3);
    expect(s.status()).toMatchObject({ ceremonyId: started.ceremony!.id, done: true, running: false, promptOpen: false });

    // The print-report step went to the printer (the fake lp keeps what CUPS would get).
    const jobs = () => fs.readdirSync(path.join(printer, "jobs"));
    expect(jobs()).toHaveLength(1);
    expect(fs.readFileSync(path.join(printer, "jobs", jobs()[0]!)).subarray(0, 5).toString()).toBe("%PDF-");

    // The transcript the host wrote verifies.
    expect((await verdictOf(path.join(dataDir, "transcript.sqlite"))).complete).toBe(true);

    // Done: verify, print, save through a handle.
    await until(() => fs.existsSync(path.join(st.ceremony!.artifactsDir, "report.pdf")));
    expect(await value(s.call("report:verify", {}))).toMatchObject({ ok: true, status: 0, completeness: "complete", entries: 17 });
    expect(await value(s.call("report:print", {}))).toEqual({ printed: "request id is fake-1 (1 file(s))" });
    expect(jobs()).toHaveLength(2);
    const usb = tmp("custos-usb-");
    const h = await value<{ handle: string; name: string }>(s.grant(path.join(usb, "report-copy"), "report"));
    expect(h.handle).toMatch(/^f_[0-9a-f]{32}$/);
    expect(await value(s.call("report:save", { file: h.handle }))).toEqual({ saved: "report-copy.pdf" });
    expect(fs.readFileSync(path.join(usb, "report-copy.pdf"))).toEqual(fs.readFileSync(path.join(st.ceremony!.artifactsDir, "report.pdf")));
    // A Save handle is used once.
    expect(await s.call("report:save", { file: h.handle })).toMatchObject({ ok: false, code: "FILE_HANDLE_UNKNOWN" });
  });

  it("names files only by handles it minted, each for one purpose", async () => {
    const { s, dataDir } = supervisor();
    expect(await s.start()).toBe(true);
    await start(s);
    const db = path.join(dataDir, "transcript.sqlite");
    const forVerify = await value<{ handle: string; name: string }>(s.grant(db, "verify"));
    expect(forVerify.name).toBe("transcript.sqlite");
    expect(await value(s.call("verify:file", { file: forVerify.handle }))).toMatchObject({ source: expect.any(String) });
    const forReport = await value<{ handle: string }>(s.grant(db, "report"));
    expect(await s.call("verify:file", { file: forReport.handle })).toMatchObject({ ok: false, code: "FILE_HANDLE_PURPOSE" });
    expect(await s.call("verify:file", { file: `f_${"0".repeat(32)}` })).toMatchObject({ ok: false, code: "FILE_HANDLE_UNKNOWN" });
    expect(await s.call("verify:file", { path: db })).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
    expect(await s.grant("relative/transcript.sqlite", "verify")).toMatchObject({ ok: false, code: "FILE_NOT_ABSOLUTE" });
  });

  it("restarts a host that was killed and reopens the ceremony at its first unfinished step", async () => {
    const { s, lines, launch } = supervisor();
    expect(await s.start()).toBe(true);
    const started = await start(s);
    const room = new StateRoom((c, p) => s.call(c, p), { custodians: 3 });
    for (let i = 0; i < 3; i++) await room.runStep();
    const before = await room.state();
    expect(before.ceremony!.completed).toBe(3);
    const firstPid = s.pid!;

    // Kill it while step 4's question is open (the room is mid-answer).
    room.beforeAnswer = async () => "skip";
    const atPrompt = await room.runStep();
    expect(atPrompt.prompt).not.toBeNull();
    process.kill(firstPid, "SIGKILL");
    await until(() => s.pid !== undefined && s.pid !== firstPid && s.status()?.ceremonyId === started.ceremony!.id);
    expect(launch).toHaveBeenCalledTimes(2);
    expect(lines.join("\n")).toMatch(/ended \(signal SIGKILL\)/);

    const after = await room.state();
    expect(after.ceremony!.id).toBe(started.ceremony!.id);
    expect(after.ceremony!.completed).toBe(3);
    expect(after.step!.index).toBe(3);
    expect(after.prompt).toBeNull();
    // Versions keep going up, so the screen accepts the new host's state.
    expect(after.version).toBeGreaterThan(atPrompt.version);
    expect(after.lastError).toMatchObject({ code: "CORE_RESTARTED" });
    expect(after.lastError!.message).toMatch(/continues at step 4 of 16/);

    // The room runs the step again and goes on; the notice is gone.
    room.beforeAnswer = undefined;
    const next = await room.runStep();
    expect(next.ceremony!.completed).toBe(4);
    expect(next.lastError).toBeNull();
  });

  it("restarts a host that stopped answering (SIGSTOP) once the operator says so, and leaves one that answers again alone", async () => {
    const decisions: Array<"wait" | "restart"> = ["wait", "restart"];
    const asked: AbortSignal[] = [];
    const { s, launch } = supervisor({
      heartbeatMs: 100,
      hungAfterMs: 800,
      onHung: async (_ms, _status, signal) => {
        asked.push(signal);
        return decisions.shift() ?? "wait";
      },
    });
    expect(await s.start()).toBe(true);
    const started = await start(s);
    const room = new StateRoom((c, p) => s.call(c, p), { custodians: 3 });
    await room.runStep();
    const pid = s.pid!;

    // Hung for a while, then answers again: the first question says "wait", and nothing is restarted.
    process.kill(pid, "SIGSTOP");
    await until(() => asked.length === 1, 10_000);
    process.kill(pid, "SIGCONT");
    await until(() => asked[0]!.aborted || decisions.length === 1, 10_000);
    // Longer than a silence that would count as hung: the host answers, nobody restarts it.
    await new Promise((r) => setTimeout(r, 2000));
    expect(launch).toHaveBeenCalledTimes(1);
    expect(s.pid).toBe(pid);
    expect(asked).toHaveLength(1);
    expect((await room.state()).lastError).toBeNull();

    // Hung for good: the next question says "restart".
    process.kill(pid, "SIGSTOP");
    await until(() => s.pid !== undefined && s.pid !== pid && s.status()?.ceremonyId === started.ceremony!.id, 20_000);
    expect(launch).toHaveBeenCalledTimes(2);
    const after = await room.state();
    expect(after.ceremony!.completed).toBe(1);
    expect(after.lastError).toMatchObject({ code: "CORE_RESTARTED" });
    expect(after.lastError!.message).toMatch(/did not answer/);
  });

  it("loads the SQLite module it is told to (the Electron build, in the app) from its own folder", async () => {
    const folder = tmp("custos-native-");
    const copy = path.join(folder, "better_sqlite3.node");
    fs.copyFileSync(path.join(ROOT, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"), copy);
    const { s } = supervisor({ init: { dataDir: tmp("custos-host-data-"), resourcesDir: ROOT, kdfCost: "test", sqliteBinding: copy } });
    expect(await s.start()).toBe(true);
    expect(s.info?.sqlite).toBe(copy);
    expect(await value(s.call("ceremony:list", {}))).toEqual([]);
    const maps = fs.readFileSync(`/proc/${s.pid}/maps`, "utf8");
    expect(maps).toContain(copy);
    expect(maps).not.toContain(path.join("better-sqlite3", "build", "Release", "better_sqlite3.node"));
  });

  it("reports a SQLite module it cannot load as a clear start error, once, without a restart loop", async () => {
    const onFatal = vi.fn();
    const missing = path.join(os.tmpdir(), "custos-no-such-dir", "better_sqlite3.node");
    const { s, launch } = supervisor({ onFatal, init: { dataDir: tmp("custos-host-data-"), resourcesDir: ROOT, sqliteBinding: missing } });
    expect(await s.start()).toBe(false);
    expect(onFatal).toHaveBeenCalledOnce();
    expect(onFatal.mock.calls[0]![0]).toMatchObject({ code: "SQLITE_BINDING", hint: expect.stringMatching(/electron-native\.mjs/) });
    expect(onFatal.mock.calls[0]![0].message).toContain(missing);
    await new Promise((r) => setTimeout(r, 500));
    expect(launch).toHaveBeenCalledOnce();
    expect(await s.call("app:info", {})).toMatchObject({ ok: false, code: "SQLITE_BINDING" });
  });

  it("a damaged settings file stops the start with the file and field named", async () => {
    const userData = tmp("custos-user-");
    const settingsFile = path.join(userData, "settings.json");
    fs.writeFileSync(settingsFile, JSON.stringify({ pkcs11: { module: 42 } }));
    const onFatal = vi.fn();
    const { s } = supervisor({ onFatal, init: { dataDir: tmp("custos-host-data-"), resourcesDir: ROOT, settingsFile } });
    expect(await s.start()).toBe(false);
    expect(onFatal.mock.calls[0]![0]).toMatchObject({ code: "SETTINGS_INVALID", message: expect.stringContaining("pkcs11.module") });
    expect(fs.readFileSync(settingsFile, "utf8")).toBe(JSON.stringify({ pkcs11: { module: 42 } }));
  });

  it("takes the production HSM module from the settings file, not only from the environment", async () => {
    const userData = tmp("custos-user-");
    const settingsFile = path.join(userData, "settings.json");
    fs.writeFileSync(settingsFile, JSON.stringify({ pkcs11: { module: "/usr/lib/softhsm/libsofthsm2.so" } }));
    const env = { ...process.env };
    delete env.CUSTOS_PKCS11_MODULE;
    const { s } = supervisor({ env, init: { dataDir: tmp("custos-host-data-"), resourcesDir: ROOT, settingsFile } });
    expect(await s.start()).toBe(true);
    expect(await value(s.call("app:info", {}))).toMatchObject({ productionModule: "/usr/lib/softhsm/libsofthsm2.so" });
  });
});
