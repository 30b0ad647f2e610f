/**
 * Keeps the core host alive for the main process: starts it, correlates
 * requests and answers, pings it, and when it crashes or stops answering
 * (a vendor PKCS#11 module stuck in a call, a bug) restarts it and reopens
 * the ceremony at its first unfinished step (invariant 7: a crash at any
 * point loses no completed step). No Electron import: the launcher is passed
 * in (utilityProcess in the app, child_process.fork in tests and the bench).
 */
import type { FilePurpose, Result } from "../shared/ipc";
import { FromHost, type HostStatus, type InitMessage, type ToHost } from "../core/host/protocol";

/** A started host process, whatever started it. */
export interface HostProcess {
  readonly pid: number | undefined;
  post(m: ToHost): void;
  onMessage(cb: (m: unknown) => void): void;
  /** Called once when the process has ended. */
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

export type LaunchHost = () => HostProcess;

/** What the operator decided about a host that stopped answering. */
export type HungDecision = "wait" | "restart";

export interface SupervisorOptions {
  launch: LaunchHost;
  init: Omit<InitMessage, "t" | "versionBase" | "resume">;
  log: (line: string) => void;
  /** Ping period. */
  heartbeatMs?: number;
  /** Silence after which onHung is asked (an RSA key on a smart-card HSM can take a minute). */
  hungAfterMs?: number;
  /** Asked when the host has been silent for hungAfterMs; the signal aborts when it answers again. */
  onHung?: (silentMs: number, status: HostStatus | null, signal: AbortSignal) => Promise<HungDecision>;
  onStatus?: (s: HostStatus) => void;
  /** A host (the first, or a restarted one) is up. */
  onReady?: (pid: number) => void;
  /** The host cannot be (re)started: the app cannot work. */
  onFatal?: (reason: { code: string; message: string; hint: string }) => void;
  /** Gives up after this many unplanned exits within restartWindowMs. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** How long a graceful shutdown may take before SIGKILL. */
  shutdownMs?: number;
}

type Pending = { resolve: (r: Result<unknown>) => void; kind: "call" | "grant" };

/** Runs one core host at a time and survives its death. */
export class HostSupervisor {
  private proc: HostProcess | null = null;
  private ready = false;
  private stopping = false;
  private fatal: { code: string; message: string; hint: string } | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private queue: Array<() => void> = [];
  private lastStatus: HostStatus | null = null;
  private highestVersion = 0;
  private exits: number[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private lastPong = Date.now();
  private asking: AbortController | null = null;
  private pingN = 0;
  private readyWaiters: Array<(ok: boolean) => void> = [];
  /** Facts of the running host, for the startup log. */
  info: { pid: number; sqlite: string; node: string; modules: string } | null = null;
  restarts = 0;

  constructor(private readonly o: SupervisorOptions) {}

  /** Starts the host; resolves true once it answers, false if it cannot start. */
  start(): Promise<boolean> {
    this.spawn(undefined);
    return this.whenReady();
  }

  /** The session as last reported by the host. */
  status(): HostStatus | null {
    return this.lastStatus;
  }

  /** The process id of the running host. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Sends one renderer request (already checked against the channel map); never rejects. */
  call(channel: string, payload: unknown): Promise<Result<unknown>> {
    return this.send("call", (id) => ({ t: "call", id, channel, payload }));
  }

  /** Asks the host for a handle to a file chosen in a dialog. */
  grant(path: string, purpose: FilePurpose): Promise<Result<unknown>> {
    return this.send("grant", (id) => ({ t: "grant", id, path, purpose }));
  }

  /** Kills the host and starts a new one that reopens the ceremony. */
  restart(reason: string): void {
    const p = this.proc;
    if (!p || this.stopping) return;
    this.o.log(`core host ${p.pid}: restarting: ${reason}`);
    this.restartReason = reason;
    // SIGKILL: a process stuck inside a PKCS#11 call may ignore anything gentler.
    p.kill("SIGKILL");
  }

  /** Asks the host to close the HSM session and the database, then ends it; SIGKILL after shutdownMs. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopHeartbeat();
    this.asking?.abort();
    const p = this.proc;
    if (!p) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.o.log(`core host ${p.pid}: no clean exit after ${this.o.shutdownMs ?? 5000} ms, killed`);
        p.kill("SIGKILL");
      }, this.o.shutdownMs ?? 5000);
      this.exitWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      try {
        p.post({ t: "shutdown" });
      } catch {
        p.kill("SIGKILL");
      }
    });
  }

  private restartReason: string | null = null;
  private exitWaiters: Array<() => void> = [];

  private whenReady(): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    if (this.fatal) return Promise.resolve(false);
    return new Promise((r) => this.readyWaiters.push(r));
  }

  private send(kind: Pending["kind"], make: (id: number) => ToHost): Promise<Result<unknown>> {
    if (this.fatal) return Promise.resolve({ ok: false, ...this.fatal });
    return new Promise((resolve) => {
      const go = () => {
        if (this.fatal || !this.proc) return resolve({ ok: false, ...(this.fatal ?? unavailable) });
        const id = this.nextId++;
        this.pending.set(id, { resolve, kind });
        try {
          this.proc.post(make(id));
        } catch (e) {
          this.pending.delete(id);
          resolve({ ok: false, code: "CORE_UNAVAILABLE", message: `The core did not take the request (${e instanceof Error ? e.message : String(e)}).`, hint: "Try again in a moment." });
        }
      };
      // While a host starts (or restarts), requests wait for it rather than fail.
      if (this.ready) go();
      else this.queue.push(go);
    });
  }

  private spawn(resume: InitMessage["resume"]): void {
    this.ready = false;
    const p = this.o.launch();
    this.proc = p;
    p.onMessage((raw) => this.onMessage(p, raw));
    p.onExit((code, signal) => this.onExit(p, code, signal));
    // Above every version the renderer has seen, so it never ignores the new host's states.
    p.post({ t: "init", ...this.o.init, versionBase: this.highestVersion, ...(resume ? { resume } : {}) });
  }

  private onMessage(p: HostProcess, raw: unknown): void {
    if (p !== this.proc) return;
    const parsed = FromHost.safeParse(raw);
    if (!parsed.success) {
      this.o.log(`core host ${p.pid}: malformed message ignored (${parsed.error.issues[0]?.message ?? "?"})`);
      return;
    }
    const m = parsed.data;
    this.lastPong = Date.now();
    switch (m.t) {
      case "ready": {
        this.ready = true;
        this.info = { pid: m.pid, sqlite: m.sqlite, node: m.node, modules: m.modules };
        this.o.log(`core host ${m.pid} ready (Node ${m.node}, NODE_MODULE_VERSION ${m.modules}, SQLite module: ${m.sqlite})`);
        this.startHeartbeat();
        this.o.onReady?.(m.pid);
        for (const go of this.queue.splice(0)) go();
        for (const w of this.readyWaiters.splice(0)) w(true);
        return;
      }
      case "init-failed": {
        this.o.log(`core host ${p.pid} could not start: ${m.code}: ${m.message}`);
        this.giveUp({ code: m.code, message: m.message, hint: m.hint });
        return;
      }
      case "result":
      case "granted": {
        if (m.t === "result") this.highestVersion = Math.max(this.highestVersion, m.version);
        const w = this.pending.get(m.id);
        this.pending.delete(m.id);
        w?.resolve(m.result as Result<unknown>);
        return;
      }
      case "pong":
        if (this.asking) {
          this.o.log(`core host ${p.pid} answers again`);
          this.asking.abort();
          this.asking = null;
        }
        return;
      case "status":
        this.highestVersion = Math.max(this.highestVersion, m.status.version);
        this.lastStatus = m.status;
        this.o.onStatus?.(m.status);
        return;
      case "log":
        this.o.log(`core host ${p.pid}: ${m.line}`);
        return;
    }
  }

  private onExit(p: HostProcess, code: number | null, signal: string | null): void {
    if (p !== this.proc) return;
    this.proc = null;
    this.ready = false;
    this.stopHeartbeat();
    this.asking?.abort();
    this.asking = null;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    for (const w of this.exitWaiters.splice(0)) w();
    const reason = this.restartReason ?? `it ended unexpectedly with ${how}`;
    this.restartReason = null;
    // Requests in flight die with the host; the renderer asks again and gets the new host's state.
    for (const [id, w] of this.pending) {
      this.pending.delete(id);
      w.resolve({ ok: false, code: "CORE_RESTARTED", message: "The core was restarted while answering; the screen reloads its state.", hint: "" });
    }
    if (this.stopping) {
      this.o.log(`core host ${p.pid} stopped (${how})`);
      return;
    }
    if (this.fatal) return;
    this.o.log(`core host ${p.pid} ended (${how}): ${reason}`);
    const now = Date.now();
    this.exits = [...this.exits.filter((t) => now - t < (this.o.restartWindowMs ?? 60_000)), now];
    if (this.exits.length > (this.o.maxRestarts ?? 3)) {
      this.giveUp({ code: "CORE_CRASHING", message: `The core stopped ${this.exits.length} times within a minute (last: ${reason}).`, hint: "Quit Custos and start it again; completed steps are kept. The log file says why." });
      return;
    }
    this.restarts++;
    const s = this.lastStatus;
    this.spawn(s?.ceremonyId ? { ceremonyId: s.ceremonyId, reason } : undefined);
  }

  private giveUp(reason: { code: string; message: string; hint: string }): void {
    if (this.fatal) return;
    this.fatal = reason;
    this.stopHeartbeat();
    for (const go of this.queue.splice(0)) go();
    for (const w of this.readyWaiters.splice(0)) w(false);
    this.o.onFatal?.(reason);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.lastPong = Date.now();
    const every = this.o.heartbeatMs ?? 2000;
    const hungAfter = this.o.hungAfterMs ?? 45_000;
    this.heartbeat = setInterval(() => {
      const p = this.proc;
      if (!p || !this.ready) return;
      try {
        p.post({ t: "ping", n: ++this.pingN });
      } catch {
        return;
      }
      const silent = Date.now() - this.lastPong;
      if (silent < hungAfter || this.asking) return;
      this.o.log(`core host ${p.pid}: no answer for ${Math.round(silent / 1000)} s`);
      const ask = new AbortController();
      this.asking = ask;
      const decide = this.o.onHung ?? (async () => "restart" as const);
      void decide(silent, this.lastStatus, ask.signal).then((d) => {
        if (this.asking !== ask || ask.signal.aborted) return; // it answered meanwhile: nothing to do
        this.asking = null;
        if (d === "restart") this.restart(`it did not answer for ${Math.round((Date.now() - this.lastPong) / 1000)} s`);
        else this.lastPong = Date.now(); // wait another period before asking again
      });
    }, every);
    this.heartbeat.unref?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

const unavailable = { code: "CORE_UNAVAILABLE", message: "The core is not running.", hint: "Quit Custos and start it again; completed steps are kept." };
