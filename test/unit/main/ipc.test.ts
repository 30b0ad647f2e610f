import type { BrowserWindow, IpcMain, IpcMainInvokeEvent, WebContents } from "electron";
import { beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import { dispatch, type Handlers } from "../../../electron/core/app/dispatch";
import { CustosError } from "../../../electron/core/errors";
import { createFront } from "../../../electron/main/front";
import { registerIpc, trustedSender, type SenderCheck } from "../../../electron/main/ipc";
import { CHANNELS, IPC_CHANNEL, type Result } from "../../../electron/shared/ipc";

vi.mock("electron", async () => (await import("./electron-mock")).electronModule);

const RENDERER = "/opt/Custos/resources/app.asar/dist/renderer";
const INDEX = `file://${RENDERER}/index.html`;

type Invoke = (event: IpcMainInvokeEvent, channel: unknown, payload: unknown) => Promise<Result<unknown>>;

/** Fake handlers: every channel is a spy answering { ran: channel }. */
function fakeHandlers(): Record<string, Mock<(req: unknown) => Promise<unknown>>> {
  return Object.fromEntries(Object.keys(CHANNELS).map((c) => [c, vi.fn(async (_req: unknown): Promise<unknown> => ({ ran: c }))]));
}

/** The main window, its web contents, and events as they would come from its frames. */
function world() {
  const mainContents = { id: 1 } as unknown as WebContents;
  const otherContents = { id: 2 } as unknown as WebContents;
  const win = { isDestroyed: () => false } as unknown as BrowserWindow;
  const otherWin = { isDestroyed: () => false } as unknown as BrowserWindow;
  const fromWebContents = (c: WebContents) => (c === mainContents ? win : c === otherContents ? otherWin : null);
  const check = trustedSender({ windows: () => [win], fromWebContents, rendererDir: RENDERER });
  const topFrame = (url = INDEX) => ({ url, parent: null });
  const event = (o: { sender?: WebContents; frame?: object | null } = {}) =>
    ({ sender: o.sender ?? mainContents, senderFrame: o.frame === undefined ? topFrame() : o.frame }) as unknown as IpcMainInvokeEvent;
  return { check, event, topFrame, mainContents, otherContents, win };
}

/**
 * Registers the IPC wrapper on a fake ipcMain, with the real front behind it
 * and the real dispatch() of the core host behind that, and returns the
 * installed listener.
 */
function register(handlers: ReturnType<typeof fakeHandlers>, check: SenderCheck): Invoke {
  const ipcMain = { handle: vi.fn() };
  const front = createFront({
    host: { call: (c, p) => dispatch(handlers as unknown as Handlers, c, p), grant: async () => ({ ok: true, value: null }), finishedFolder: () => null },
    showOpen: async () => null,
    showSave: async () => null,
    openFolder: async () => "",
  });
  registerIpc(ipcMain as unknown as IpcMain, front, check);
  expect(ipcMain.handle).toHaveBeenCalledOnce();
  expect(ipcMain.handle.mock.calls[0]![0]).toBe(IPC_CHANNEL);
  return ipcMain.handle.mock.calls[0]![1] as Invoke;
}

describe("IPC wrapper: sender check", () => {
  let handlers: ReturnType<typeof fakeHandlers>;
  let w: ReturnType<typeof world>;
  let invoke: Invoke;
  beforeEach(() => {
    handlers = fakeHandlers();
    w = world();
    invoke = register(handlers, w.check);
  });

  it("runs the handler for our renderer's top frame", async () => {
    expect(await invoke(w.event(), "app:info", {})).toEqual({ ok: true, value: { ran: "app:info" } });
    expect(handlers["app:info"]).toHaveBeenCalledOnce();
  });

  it.each([
    ["another window's web contents", () => ({ sender: { id: 2 } as unknown as WebContents })],
    ["web contents with no window", () => ({ sender: { id: 3 } as unknown as WebContents })],
    ["a subframe", () => ({ frame: { url: INDEX, parent: { url: INDEX, parent: null } } })],
    ["an https: page", () => ({ frame: { url: "https://evil.example/", parent: null } })],
    ["a data: document", () => ({ frame: { url: "data:text/html,<script>1</script>", parent: null } })],
    ["a file: outside the renderer folder", () => ({ frame: { url: "file:///tmp/evil.html", parent: null } })],
    ["a frame already gone (senderFrame null)", () => ({ frame: null })],
  ])("refuses %s with IPC_UNTRUSTED_SENDER and runs no handler", async (_name, make) => {
    const ev = w.event(make() as never);
    const r = await invoke(ev, "ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" });
    expect(r).toMatchObject({ ok: false, code: "IPC_UNTRUSTED_SENDER" });
    for (const h of Object.values(handlers)) expect(h).not.toHaveBeenCalled();
  });

  it("refuses everything once the main window is gone", async () => {
    const check = trustedSender({ windows: () => [], fromWebContents: () => w.win, rendererDir: RENDERER });
    const inv = register(handlers, check);
    expect(await inv(w.event(), "app:info", {})).toMatchObject({ ok: false, code: "IPC_UNTRUSTED_SENDER" });
    const destroyed = { isDestroyed: () => true } as unknown as BrowserWindow;
    const inv2 = register(handlers, trustedSender({ windows: () => [destroyed], fromWebContents: () => destroyed, rendererDir: RENDERER }));
    expect(await inv2(w.event(), "app:info", {})).toMatchObject({ ok: false, code: "IPC_UNTRUSTED_SENDER" });
    expect(handlers["app:info"]).not.toHaveBeenCalled();
  });

  it("checks the sender before the channel (an untrusted sender learns nothing about channels)", async () => {
    expect(await invoke(w.event({ frame: null }), "no:such-channel", {})).toMatchObject({ code: "IPC_UNTRUSTED_SENDER" });
  });

  it("treats a sender check that throws as a refusal, without throwing across IPC", async () => {
    const inv = register(handlers, () => {
      throw new Error("frame disposed");
    });
    expect(await inv(w.event(), "app:info", {})).toMatchObject({ ok: false, code: "INTERNAL" });
    expect(handlers["app:info"]).not.toHaveBeenCalled();
  });
});

describe("IPC wrapper: channel and payload", () => {
  let handlers: ReturnType<typeof fakeHandlers>;
  let w: ReturnType<typeof world>;
  let invoke: Invoke;
  beforeEach(() => {
    handlers = fakeHandlers();
    w = world();
    invoke = register(handlers, w.check);
  });

  it.each([["no:such-channel"], ["__proto__"], ["constructor"], [42], [null], [{ toString: () => "app:info" }]])("refuses unknown channel %j", async (channel) => {
    const r = await invoke(w.event(), channel, {});
    expect(r).toMatchObject({ ok: false, code: "IPC_UNKNOWN_CHANNEL" });
    for (const h of Object.values(handlers)) expect(h).not.toHaveBeenCalled();
  });

  it.each([
    ["a mode outside the enum", { script: "root-key-generation.yaml", mode: "evil" }],
    ["an extra key", { script: "root-key-generation.yaml", mode: "rehearsal", skipChecks: true }],
    ["a path in the script name", { script: "../../etc/passwd.yaml", mode: "rehearsal" }],
    ["a custodian count of 1", { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 1 }],
    ["a string payload", "root-key-generation.yaml"],
  ])("refuses ceremony:start with %s and runs no handler", async (_name, payload) => {
    const r = await invoke(w.event(), "ceremony:start", payload);
    expect(r).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
    expect(handlers["ceremony:start"]).not.toHaveBeenCalled();
  });

  it("passes the parsed payload to the handler", async () => {
    const payload = { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 5, threshold: 3 };
    expect(await invoke(w.event(), "ceremony:start", payload)).toMatchObject({ ok: true });
    expect(handlers["ceremony:start"]).toHaveBeenCalledExactlyOnceWith(payload);
  });

  it("turns a handler that throws into { ok: false, code: INTERNAL }", async () => {
    handlers["app:info"]!.mockRejectedValueOnce(new Error("boom"));
    const r = await invoke(w.event(), "app:info", {});
    expect(r).toMatchObject({ ok: false, code: "INTERNAL" });
  });

  it("keeps a CustosError's code and hint", async () => {
    handlers["verify:file"]!.mockRejectedValueOnce(new CustosError("FILE_UNREADABLE", "Cannot read it.", "Pick another file."));
    const r = await invoke(w.event(), "verify:file", { file: `f_${"a".repeat(32)}` });
    expect(r).toMatchObject({ ok: false, code: "FILE_UNREADABLE", hint: "Pick another file." });
  });

  it.each([
    ["verify:file", { path: "/etc/shadow" }],
    ["transcript:entries", { path: "/home/other/transcript.sqlite" }],
    ["session:share-card", { action: "save", path: "/etc/cron.d/x.pdf" }],
    ["report:save", { file: "/tmp/report.pdf" }],
  ])("refuses a raw path on %s: the renderer names files only by handle", async (channel, payload) => {
    const r = await invoke(w.event(), channel, payload);
    expect(r).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
    for (const h of Object.values(handlers)) expect(h).not.toHaveBeenCalled();
  });

  it("trusts a second window of ours (the private view to come), and no other", async () => {
    const second = { isDestroyed: () => false } as unknown as BrowserWindow;
    const secondContents = { id: 9 } as unknown as WebContents;
    const check = trustedSender({ windows: () => [w.win, second], fromWebContents: (c) => (c === secondContents ? second : c === w.otherContents ? ({ isDestroyed: () => false } as unknown as BrowserWindow) : null), rendererDir: RENDERER });
    const inv = register(handlers, check);
    expect(await inv(w.event({ sender: secondContents }), "app:info", {})).toMatchObject({ ok: true });
    expect(await inv(w.event({ sender: w.otherContents }), "app:info", {})).toMatchObject({ ok: false, code: "IPC_UNTRUSTED_SENDER" });
  });
});
