/**
 * A stand-in for the `electron` module, so the main-process shell is tested
 * under plain Node without a window. Test files install it with
 *   vi.mock("electron", async () => (await import("./electron-mock")).electronModule);
 * and build the objects they pass in with the fake* helpers.
 */
import { EventEmitter } from "node:events";
import { vi } from "vitest";

/** A session whose handlers are spies; the installed listeners are read back from the spies' calls. */
export function fakeSession() {
  return {
    webRequest: { onBeforeRequest: vi.fn(), onHeadersReceived: vi.fn() },
    setPermissionRequestHandler: vi.fn(),
    setPermissionCheckHandler: vi.fn(),
    setDevicePermissionHandler: vi.fn(),
  };
}

/** Web contents: an event emitter with a window-open handler slot. */
export function fakeWebContents(osPid = 4242) {
  const wc = new EventEmitter() as EventEmitter & {
    setWindowOpenHandler: ReturnType<typeof vi.fn>;
    getOSProcessId: () => number;
    mainFrame: unknown;
  };
  wc.setWindowOpenHandler = vi.fn();
  wc.getOSProcessId = () => osPid;
  return wc;
}

/** An Electron-like event whose preventDefault is a spy. */
export function fakeEvent() {
  return { preventDefault: vi.fn() };
}

/** The app object: an event emitter with the members the shell uses. */
export function fakeApp(o: { isPackaged?: boolean; userData?: string; switches?: string[]; metricsPids?: number[] } = {}) {
  const paths: Record<string, string> = { userData: o.userData ?? "/tmp/custos-test-user-data", appData: "/tmp/custos-test-app-data" };
  const app = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(app, {
    isPackaged: o.isPackaged ?? false,
    getPath: vi.fn((name: string) => paths[name] ?? `/tmp/custos-test-${name}`),
    setPath: vi.fn((name: string, value: string) => {
      paths[name] = value;
    }),
    exit: vi.fn(),
    quit: vi.fn(),
    commandLine: { hasSwitch: vi.fn((name: string) => (o.switches ?? []).includes(name)) },
    getAppMetrics: vi.fn(() => (o.metricsPids ?? []).map((pid) => ({ pid }))),
  });
  return app;
}

/** The mocked `electron` module itself (one shared instance per test file). */
export const electronModule = {
  app: fakeApp(),
  session: { defaultSession: fakeSession() },
  contextBridge: { exposeInMainWorld: vi.fn() },
  ipcRenderer: { invoke: vi.fn(async (..._args: unknown[]): Promise<unknown> => ({ ok: true, value: null })), send: vi.fn(), on: vi.fn() },
  ipcMain: { handle: vi.fn() },
  BrowserWindow: Object.assign(vi.fn(), { fromWebContents: vi.fn(() => null) }),
  dialog: { showErrorBox: vi.fn() },
};
