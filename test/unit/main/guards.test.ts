// Leave guard (quit/close while a step runs or a question is open), renderer
// recovery (crash, hang), and the menu of packaged builds.
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import type { HostStatus } from "../../../electron/core/host/protocol";
import { busyReason, guardRenderer, LeaveGuard } from "../../../electron/main/guards";
import { menuRoles, menuTemplate } from "../../../electron/main/menu";

const status = (o: Partial<HostStatus> = {}): HostStatus => ({
  version: 7,
  ceremonyId: "c1",
  mode: "rehearsal",
  done: false,
  running: false,
  promptOpen: false,
  completed: 4,
  total: 15,
  stepTitle: "Generate the root key pair",
  artifactsDir: "/d/c1",
  ...o,
});

describe("busyReason", () => {
  it.each([
    ["no session", null, null],
    ["no ceremony", status({ ceremonyId: null }), null],
    ["between steps", status(), null],
    ["a finished ceremony", status({ done: true, promptOpen: true }), null],
    ["a running step", status({ running: true }), 'Custos is running step 5 of 15, "Generate the root key pair".'],
    ["an open question", status({ running: true, promptOpen: true }), 'A question of step 5 of 15, "Generate the root key pair" is open.'],
  ])("%s -> %j", (_n, s, want) => {
    expect(busyReason(s)).toBe(want);
  });
});

function fakeWindow() {
  const w = Object.assign(new EventEmitter(), { close: vi.fn(), isDestroyed: () => false });
  const closeEvent = () => {
    const e = { preventDefault: vi.fn() };
    w.emit("close", e);
    return e;
  };
  return { w, closeEvent };
}

describe("LeaveGuard", () => {
  it("lets a window close without asking when nothing is in progress", () => {
    const confirm = vi.fn(async () => true);
    const g = new LeaveGuard({ status: () => status(), confirm, log: () => {} });
    const { w, closeEvent } = fakeWindow();
    g.guardWindow(w);
    expect(closeEvent().preventDefault).not.toHaveBeenCalled();
    expect(confirm).not.toHaveBeenCalled();
  });

  it("keeps the window open while a question is open unless the room says leave", async () => {
    let answer = false;
    const confirm = vi.fn(async () => answer);
    const g = new LeaveGuard({ status: () => status({ running: true, promptOpen: true }), confirm, log: () => {} });
    const { w, closeEvent } = fakeWindow();
    g.guardWindow(w);
    expect(closeEvent().preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(confirm).toHaveBeenCalledOnce());
    expect(w.close).not.toHaveBeenCalled();
    answer = true;
    expect(closeEvent().preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(w.close).toHaveBeenCalledOnce());
    // Once confirmed, the way out is not questioned again.
    expect(closeEvent().preventDefault).not.toHaveBeenCalled();
    expect(confirm).toHaveBeenCalledTimes(2);
  });

  it("asks once for two close attempts in a row", async () => {
    let resolve!: (v: boolean) => void;
    const confirm = vi.fn(() => new Promise<boolean>((r) => (resolve = r)));
    const g = new LeaveGuard({ status: () => status({ running: true }), confirm, log: () => {} });
    const { w, closeEvent } = fakeWindow();
    g.guardWindow(w);
    closeEvent();
    closeEvent();
    resolve(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(confirm).toHaveBeenCalledOnce();
  });

  it("on quit: asks while busy, stops the core before the app ends, and runs that once", async () => {
    const app = Object.assign(new EventEmitter(), { quit: vi.fn() });
    const beforeExit = vi.fn(async () => {});
    let busy = true;
    const confirm = vi.fn(async () => false);
    const g = new LeaveGuard({ status: () => status({ running: busy }), confirm, log: () => {} });
    g.guardQuit(app, beforeExit);
    const quit = () => {
      const e = { preventDefault: vi.fn() };
      app.emit("before-quit", e);
      return e;
    };
    expect(quit().preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(confirm).toHaveBeenCalledOnce());
    expect(beforeExit).not.toHaveBeenCalled();
    expect(app.quit).not.toHaveBeenCalled();
    busy = false;
    quit();
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalledOnce());
    expect(beforeExit).toHaveBeenCalledOnce();
    // app.quit() fires before-quit again: it passes this time.
    expect(quit().preventDefault).not.toHaveBeenCalled();
    expect(beforeExit).toHaveBeenCalledOnce();
  });
});

function rendererWindow() {
  const webContents = Object.assign(new EventEmitter(), { forcefullyCrashRenderer: vi.fn() });
  return Object.assign(new EventEmitter(), { webContents, isDestroyed: () => false });
}

describe("guardRenderer", () => {
  it("reloads after a crash (the renderer reads the session from the core), not after a clean exit", () => {
    const w = rendererWindow();
    const reload = vi.fn();
    const log = vi.fn();
    guardRenderer(w, { reload, log, giveUp: vi.fn() });
    w.webContents.emit("render-process-gone", {}, { reason: "clean-exit", exitCode: 0 });
    expect(reload).not.toHaveBeenCalled();
    w.webContents.emit("render-process-gone", {}, { reason: "crashed", exitCode: 139 });
    expect(reload).toHaveBeenCalledOnce();
    expect(log).toHaveBeenCalledWith("renderer ended: crashed (exit code 139)");
  });

  it("stops reloading a window that crashes again and again, and says so", () => {
    const w = rendererWindow();
    const reload = vi.fn();
    const giveUp = vi.fn();
    let t = 0;
    guardRenderer(w, { reload, log: () => {}, giveUp, maxCrashes: 3, now: () => (t += 1000) });
    for (let i = 0; i < 5; i++) w.webContents.emit("render-process-gone", {}, { reason: "oom", exitCode: 1 });
    expect(reload).toHaveBeenCalledTimes(3);
    expect(giveUp).toHaveBeenCalledOnce();
  });

  it("replaces a renderer that stays unresponsive, and leaves one that recovers", async () => {
    vi.useFakeTimers();
    try {
      const w = rendererWindow();
      guardRenderer(w, { reload: vi.fn(), log: () => {}, giveUp: vi.fn(), unresponsiveMs: 15_000 });
      w.emit("unresponsive");
      vi.advanceTimersByTime(10_000);
      w.emit("responsive");
      vi.advanceTimersByTime(10_000);
      expect(w.webContents.forcefullyCrashRenderer).not.toHaveBeenCalled();
      w.emit("unresponsive");
      vi.advanceTimersByTime(15_000);
      expect(w.webContents.forcefullyCrashRenderer).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("application menu", () => {
  it("has no reload and no DevTools in a packaged build, and no close item at all", () => {
    const packaged = menuRoles(menuTemplate({ isPackaged: true, platform: "linux" }));
    for (const r of ["reload", "forceReload", "toggleDevTools", "close"]) expect(packaged).not.toContain(r);
    expect(packaged).toEqual(expect.arrayContaining(["quit", "copy", "paste", "zoomIn"]));
    const dev = menuRoles(menuTemplate({ isPackaged: false, platform: "linux" }));
    expect(dev).toEqual(expect.arrayContaining(["reload", "toggleDevTools"]));
    expect(dev).not.toContain("close");
  });
});
