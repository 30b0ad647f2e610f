/**
 * The core host process's entry (bundled to dist/electron/core-host.cjs).
 * Under Electron it runs in a utility process started by the main process
 * (utilityProcess.fork) and talks over process.parentPort; under plain Node
 * (tests, the benchmark) it is a child_process.fork child on Node's IPC pipe.
 * Same messages either way (protocol.ts). Everything slow or native (SQLite,
 * PKCS#11, scrypt, PDF) happens here, so the process that owns the window
 * never waits for it.
 */
import { CustosError } from "../errors";
import { createAppService } from "../app/service";
import { readSettings } from "../app/settings";
import { createCoreHost, restartNotice, type CoreHost } from "./core-host";
import { ToHost, type FromHost, type InitMessage } from "./protocol";
import { sqliteBindingSource, useSqliteBinding } from "./sqlite-binding";

interface Transport {
  post(m: FromHost): Promise<void>;
  onMessage(cb: (m: unknown) => void): void;
}

interface ParentPortLike {
  on(event: "message", cb: (e: { data: unknown }) => void): void;
  postMessage(m: unknown): void;
}

function pickTransport(): Transport | null {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (parentPort) {
    return {
      post: async (m) => parentPort.postMessage(m),
      onMessage: (cb) => parentPort.on("message", (e) => cb(e.data)),
    };
  }
  if (process.send) {
    // The parent is gone (main crashed or was killed): nobody can answer the room; close cleanly.
    process.on("disconnect", () => shutdown(0));
    return {
      post: (m) => new Promise((resolve) => (process.connected ? process.send!(m, undefined, {}, () => resolve()) : resolve())),
      onMessage: (cb) => process.on("message", cb),
    };
  }
  return null;
}

const transport = pickTransport();
let host: CoreHost | null = null;
let starting = false;

const clip = (s: string) => (s.length > 4000 ? `${s.slice(0, 4000)}…` : s);
const log = (level: "info" | "warn" | "error", line: string) => void transport?.post({ t: "log", level, line: clip(line) });
const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

function shutdown(code: number): void {
  try {
    host?.close();
  } catch (e) {
    log("warn", `core host: closing the service failed: ${describe(e)}`);
  }
  host = null;
  // Let the last messages leave before the process ends.
  setTimeout(() => process.exit(code), 50);
}

async function start(init: InitMessage): Promise<CoreHost> {
  if (init.sqliteBinding) useSqliteBinding(init.sqliteBinding);
  // Read once here so a damaged file stops the start, named; the service reads it again at each use.
  if (init.settingsFile) readSettings(init.settingsFile);
  const service = createAppService({
    dataDir: init.dataDir,
    resourcesDir: init.resourcesDir,
    settingsFile: init.settingsFile,
    kdfCost: init.kdfCost,
    log: (line) => log("info", line),
  });
  let notice;
  if (init.resume) {
    try {
      const s = (await service.handlers["ceremony:resume"]({ ceremonyId: init.resume.ceremonyId })) as { ceremony: { completed: number; steps: unknown[] } | null; step: { title: string } | null };
      notice = restartNotice(init.resume.reason, s.ceremony ? { completed: s.ceremony.completed, total: s.ceremony.steps.length, title: s.step?.title ?? null } : null);
      log("info", `core host: ceremony ${init.resume.ceremonyId} resumed after: ${init.resume.reason}`);
    } catch (e) {
      notice = restartNotice(init.resume.reason, null);
      notice.hint = `The ceremony could not be reopened (${describe(e)}); resume it from the home screen.`;
      log("error", `core host: could not resume ${init.resume.ceremonyId}: ${describe(e)}`);
    }
  }
  const h = createCoreHost({ service, versionBase: init.versionBase, notice });
  h.watch((status) => void transport?.post({ t: "status", status }));
  return h;
}

async function onMessage(raw: unknown): Promise<void> {
  const parsed = ToHost.safeParse(raw);
  if (!parsed.success) {
    log("warn", `core host: ignored a malformed message (${parsed.error.issues[0]?.message ?? "?"})`);
    return;
  }
  const m = parsed.data;
  switch (m.t) {
    case "init": {
      if (host || starting) return;
      starting = true;
      try {
        host = await start(m);
        await transport!.post({ t: "ready", pid: process.pid, sqlite: sqliteBindingSource(), node: process.versions.node, modules: process.versions.modules });
      } catch (e) {
        const err = e instanceof CustosError ? e : new CustosError("CORE_START_FAILED", describe(e), "See the log file; completed steps are kept in the transcript.");
        await transport!.post({ t: "init-failed", code: err.code, message: clip(err.message), hint: clip(err.hint) });
        shutdown(3);
      }
      return;
    }
    case "call": {
      if (!host) {
        await transport!.post({ t: "result", id: m.id, version: 0, result: { ok: false, code: "CORE_STARTING", message: "Custos is still starting.", hint: "Try again in a moment." } });
        return;
      }
      const { result, version } = await host.invoke(m.channel, m.payload);
      await transport!.post({ t: "result", id: m.id, result, version });
      return;
    }
    case "grant": {
      const result = host ? host.grant(m.path, m.purpose) : { ok: false as const, code: "CORE_STARTING", message: "Custos is still starting.", hint: "" };
      await transport!.post({ t: "granted", id: m.id, result });
      return;
    }
    case "ping":
      await transport!.post({ t: "pong", n: m.n });
      return;
    case "shutdown":
      shutdown(0);
      return;
  }
}

if (!transport) {
  process.stderr.write("core-host: start Custos instead; this process talks only to the Custos main process.\n");
  process.exit(2);
}
transport.onMessage((raw) => {
  onMessage(raw).catch((e: unknown) => log("error", `core host: ${describe(e)}`));
});
// A fire-and-forget promise that failed is reported and the ceremony goes on;
// a thrown exception leaves the service in an unknown state, so the host ends
// and main restarts it at the first unfinished step.
process.on("unhandledRejection", (e) => log("error", `core host: unhandled rejection: ${describe(e)}`));
process.on("uncaughtException", (e) => {
  log("error", `core host: uncaught exception: ${describe(e)}\n${(e.stack ?? "").split("\n").slice(1, 8).join("\n")}`);
  shutdown(70);
});
