/**
 * The core host: the app service (SQLite, PKCS#11, PDF, scrypt) wrapped for
 * life in a process of its own. It answers the channel map through dispatch(),
 * mints file handles for the main process's dialogs, reports the session's
 * status, and keeps the session's version moving forward across restarts, so
 * a renderer that saw version 57 before a crash accepts the restarted host's
 * states. Transport-agnostic: entry.ts puts it behind a port, the end-to-end
 * harness calls it in process.
 */
import type { FilePurpose, Result } from "../../shared/ipc";
import { CustosError } from "../errors";
import { dispatch, type Handlers } from "../app/dispatch";
import type { FileHandles } from "../app/file-handles";
import type { SessionState } from "../app/service";
import type { HostStatus } from "./protocol";

/** What the host needs of the service: exactly what createAppService returns. */
export interface ServiceLike {
  handlers: Handlers;
  files: FileHandles;
  close(): void;
}

export interface CoreHostOptions {
  service: ServiceLike;
  /** Every version the host hands out is above this. */
  versionBase: number;
  /** Shown as the session's error until the room acts (after a restart: what happened, what to do). */
  notice?: { code: string; message: string; hint: string };
}

/** Channels whose answer is the SessionState. */
const STATE_CHANNELS: ReadonlySet<string> = new Set(["ceremony:start", "ceremony:resume", "session:state", "session:run-step", "session:answer", "session:exception", "session:close", "session:abort", "session:progress"]);
/** Acts of the room after which a restart notice has been read. */
const CLEARS_NOTICE: ReadonlySet<string> = new Set(["ceremony:start", "ceremony:resume", "session:run-step", "session:close"]);

export interface CoreHost {
  /** Answers one renderer request (channel map, zod-checked), with the session version at the time. */
  invoke(channel: unknown, payload: unknown): Promise<{ result: Result<unknown>; version: number }>;
  /** Mints a handle for a file chosen in a main-process dialog. */
  grant(path: string, purpose: FilePurpose): Result<{ handle: string; name: string }>;
  /** Calls back on every change of the session (version, step, prompt). */
  watch(onStatus: (s: HostStatus) => void): void;
  /** The status now. */
  status(): Promise<HostStatus>;
  close(): void;
}

/** Wraps a service as a host. */
export function createCoreHost(o: CoreHostOptions): CoreHost {
  const base = o.versionBase;
  let notice = o.notice ?? null;
  let closed = false;

  const raw = (since?: number) => o.service.handlers["session:state"](since === undefined ? {} : { since }) as Promise<SessionState>;
  const outward = (s: SessionState): SessionState => ({ ...s, version: s.version + base, lastError: s.lastError ?? (notice ? { ...notice, details: {} } : null) });
  const toStatus = (s: SessionState): HostStatus => ({
    version: s.version + base,
    ceremonyId: s.ceremony?.id ?? null,
    mode: s.ceremony?.mode ?? null,
    done: s.ceremony?.done ?? false,
    running: s.running,
    promptOpen: s.prompt !== null,
    completed: s.ceremony?.completed ?? 0,
    total: s.ceremony?.steps.length ?? 0,
    stepTitle: s.step?.title ?? null,
    artifactsDir: s.ceremony?.artifactsDir ?? null,
  });

  return {
    async invoke(channel, payload) {
      let p = payload;
      // The renderer's `since` counts in outward versions; the service counts from 1.
      if (channel === "session:state" && p && typeof p === "object" && typeof (p as { since?: unknown }).since === "number") {
        p = { ...p, since: Math.max(0, (p as { since: number }).since - base) };
      }
      const result = await dispatch(o.service.handlers, channel, p);
      if (result.ok && typeof channel === "string" && CLEARS_NOTICE.has(channel)) notice = null;
      if (result.ok && typeof channel === "string" && STATE_CHANNELS.has(channel)) {
        result.value = outward(result.value as SessionState);
      }
      return { result, version: (await raw()).version + base };
    },
    grant(path, purpose) {
      try {
        return { ok: true, value: o.service.files.grant(path, purpose) };
      } catch (e) {
        const err = e instanceof CustosError ? e : new CustosError("INTERNAL", String(e), "");
        return { ok: false, code: err.code, message: err.message, hint: err.hint };
      }
    },
    watch(onStatus) {
      void (async () => {
        let since = 0;
        while (!closed) {
          try {
            const s = await raw(since);
            if (closed) return;
            if (s.version !== since) onStatus(toStatus(s));
            since = s.version;
          } catch {
            // The status is best effort; the next round tries again.
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      })();
    },
    async status() {
      return toStatus(await raw());
    },
    close() {
      closed = true;
      o.service.close();
    },
  };
}

/** The notice a restarted host shows until the room runs the step again. */
export function restartNotice(reason: string, step: { completed: number; total: number; title: string | null } | null) {
  const where = step && step.title ? ` The ceremony continues at step ${Math.min(step.completed + 1, step.total)} of ${step.total}, "${step.title}".` : "";
  return {
    code: "CORE_RESTARTED",
    message: `The part of Custos that talks to the HSM stopped (${reason}) and was restarted. Every completed step is kept.${where}`,
    hint: "Nothing of the interrupted step was recorded: run it again.",
  };
}

