/**
 * Guards of the room's window: no accidental quit while a step runs or a
 * question is open (a custodian's share on screen, a passphrase half typed),
 * and a crashed or hung renderer is replaced by a fresh one that reads the
 * session from the core, where nothing was lost. Structural types only, so
 * the tests drive them without Electron.
 */
import type { HostStatus } from "../core/host/protocol";

/** Why leaving now would cost something, or null when nothing is in progress. */
export function busyReason(s: HostStatus | null): string | null {
  if (!s || !s.ceremonyId || s.done) return null;
  const step = s.stepTitle ? `step ${Math.min(s.completed + 1, s.total)} of ${s.total}, "${s.stepTitle}"` : "the current step";
  if (s.running && s.promptOpen) return `A question of ${step} is open.`;
  if (s.running) return `Custos is running ${step}.`;
  if (s.promptOpen) return `A question of ${step} is open.`;
  return null;
}

export interface LeaveGuardDeps {
  status: () => HostStatus | null;
  /** Asks the room; true means "quit anyway". */
  confirm: (message: string, detail: string) => Promise<boolean>;
  log: (line: string) => void;
}

interface CloseEvent {
  preventDefault(): void;
}
interface ClosableWindow {
  on(event: "close", cb: (e: CloseEvent) => void): unknown;
  close(): void;
  isDestroyed(): boolean;
}
interface QuittableApp {
  on(event: "before-quit", cb: (e: CloseEvent) => void): unknown;
  quit(): void;
}

/**
 * One guard for closing windows and quitting: asks once, and once the room
 * said "quit anyway" it does not ask again on the way out. Before the app
 * ends, `beforeExit` runs (the core host closes the HSM session and the
 * database cleanly).
 */
export class LeaveGuard {
  private confirmed = false;
  private asking: Promise<boolean> | null = null;
  private exiting = false;
  constructor(private readonly d: LeaveGuardDeps) {}

  /** Resolves true when leaving is fine now (nothing in progress, or the room confirmed). */
  mayLeave(): Promise<boolean> {
    if (this.confirmed) return Promise.resolve(true);
    const why = busyReason(this.d.status());
    if (!why) return Promise.resolve(true);
    this.asking ??= this.d
      .confirm(why, "If you leave now, this step is abandoned and nothing of it is recorded. Every completed step is kept, and the ceremony can be resumed from the home screen.")
      .then((yes) => {
        this.asking = null;
        if (yes) {
          this.confirmed = true;
          this.d.log(`leaving during a ceremony, confirmed: ${why}`);
        }
        return yes;
      });
    return this.asking;
  }

  /** Guards a window's close button (and Alt+F4, and the window manager's close). */
  guardWindow(win: ClosableWindow): void {
    win.on("close", (e) => {
      if (this.confirmed || !busyReason(this.d.status())) return;
      e.preventDefault();
      void this.mayLeave().then((yes) => {
        if (yes && !win.isDestroyed()) win.close();
      });
    });
  }

  /** Guards quitting (the menu's Quit, Ctrl+Q, the last window closing), then runs beforeExit once. */
  guardQuit(app: QuittableApp, beforeExit: () => Promise<void>): void {
    app.on("before-quit", (e) => {
      if (this.exiting) return;
      e.preventDefault();
      void this.mayLeave().then(async (yes) => {
        if (!yes || this.exiting) return;
        this.exiting = true;
        try {
          await beforeExit();
        } finally {
          app.quit();
        }
      });
    });
  }
}

/** A renderer process ended, as Electron reports it. */
export interface GoneDetails {
  reason: string;
  exitCode: number;
}

interface GuardedContents {
  on(event: "render-process-gone", cb: (e: unknown, details: GoneDetails) => void): unknown;
  forcefullyCrashRenderer(): void;
}
interface GuardedWindow {
  on(event: "unresponsive" | "responsive", cb: () => void): unknown;
  isDestroyed(): boolean;
  readonly webContents: GuardedContents;
}

export interface RendererGuardDeps {
  /** Loads the renderer again; it reads the session from the core. */
  reload: () => void;
  log: (line: string) => void;
  /** The window keeps crashing: stop reloading and tell the room. */
  giveUp: (reason: string) => void;
  /** How long a renderer may hang before it is replaced. */
  unresponsiveMs?: number;
  /** More crashes than this within a minute: give up. */
  maxCrashes?: number;
  now?: () => number;
}

/** Reloads a window whose renderer crashed, or hung for unresponsiveMs. */
export function guardRenderer(win: GuardedWindow, d: RendererGuardDeps): void {
  const now = d.now ?? Date.now;
  let crashes: number[] = [];
  let hang: ReturnType<typeof setTimeout> | null = null;
  let gaveUp = false;
  win.webContents.on("render-process-gone", (_e, details) => {
    if (hang) clearTimeout(hang);
    hang = null;
    d.log(`renderer ended: ${details.reason} (exit code ${details.exitCode})`);
    if (details.reason === "clean-exit" || win.isDestroyed() || gaveUp) return;
    const t = now();
    crashes = [...crashes.filter((c) => t - c < 60_000), t];
    if (crashes.length > (d.maxCrashes ?? 3)) {
      gaveUp = true;
      d.log(`renderer crashed ${crashes.length} times within a minute; not reloading again`);
      d.giveUp(`The window crashed ${crashes.length} times within a minute (last: ${details.reason}).`);
      return;
    }
    d.log("reloading the window from the core's session state");
    d.reload();
  });
  win.on("unresponsive", () => {
    d.log("renderer unresponsive");
    if (hang) return;
    hang = setTimeout(() => {
      hang = null;
      if (win.isDestroyed()) return;
      d.log(`renderer still unresponsive after ${Math.round((d.unresponsiveMs ?? 15_000) / 1000)} s: replacing it`);
      // Its render-process-gone (reason "killed") then reloads it.
      win.webContents.forcefullyCrashRenderer();
    }, d.unresponsiveMs ?? 15_000);
  });
  win.on("responsive", () => {
    if (!hang) return;
    clearTimeout(hang);
    hang = null;
    d.log("renderer responsive again");
  });
}
