import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { App, Session } from "electron";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  RENDERER_CSP,
  addContentSecurityPolicy,
  blockNavigationAndWindowOpen,
  blockPermissionRequests,
  blockRequests,
  disableCoreDumpsAndDebugging,
  findDebugSwitch,
  hardenSession,
  setCoreLimitZeroWithPrlimit,
  type ProcessDeps,
} from "../../../electron/main/hardening";
import { fakeApp, fakeEvent, fakeSession, fakeWebContents } from "./electron-mock";

vi.mock("electron", async () => (await import("./electron-mock")).electronModule);

const RENDERER = "/opt/Custos/resources/app.asar/dist/renderer";

/** Installs blockRequests on a fake session and returns "allow"/"cancel" for a request. */
function requestFilter(allowDevtools = false) {
  const s = fakeSession();
  blockRequests(s as unknown as Session, RENDERER, allowDevtools);
  const listener = s.webRequest.onBeforeRequest.mock.calls[0]![0] as (d: object, cb: (r: { cancel: boolean }) => void) => void;
  return (url: string, resourceType = "mainFrame") => {
    let answer: { cancel: boolean } | undefined;
    listener({ url, resourceType }, (r) => (answer = r));
    return answer!.cancel ? "cancel" : "allow";
  };
}

describe("blockRequests", () => {
  const decide = requestFilter();

  it.each([
    ["http://example.com/", "mainFrame"],
    ["https://example.com/x.js", "script"],
    ["https://example.com/api", "xhr"],
    ["ws://127.0.0.1:9222/devtools", "webSocket"],
    ["wss://example.com/", "webSocket"],
    ["ftp://example.com/f", "other"],
    ["data:text/html,<script>alert(1)</script>", "mainFrame"],
    ["data:text/html,<h1>x</h1>", "subFrame"],
    ["file:///etc/passwd", "xhr"],
    ["file:///home/user/.ssh/id_ed25519", "mainFrame"],
    [`file://${RENDERER}/../../../../../../etc/passwd`, "xhr"],
    [`file://${RENDERER}/%2e%2e/%2e%2e/secret`, "script"],
    [`file://${RENDERER}-evil/index.html`, "mainFrame"],
    [`file://${RENDERER}`, "mainFrame"],
    [`file://evil.example${RENDERER}/index.html`, "mainFrame"],
    [`file://${RENDERER}/a%2Fb.js`, "script"],
    ["devtools://devtools/bundled/inspector.html", "mainFrame"],
    ["chrome://gpu", "mainFrame"],
    ["not a url", "other"],
  ])("cancels %s (%s)", (url, type) => {
    expect(decide(url, type)).toBe("cancel");
  });

  it.each([
    [`file://${RENDERER}/index.html`, "mainFrame"],
    [`file://${RENDERER}/assets/index-abc123.js`, "script"],
    [`file://${RENDERER}/assets/index-abc123.css?v=1#x`, "stylesheet"],
    ["data:image/png;base64,iVBORw0KGgo=", "image"],
  ])("allows %s (%s)", (url, type) => {
    expect(decide(url, type)).toBe("allow");
  });

  it("lets DevTools load only when told to (development builds)", () => {
    expect(requestFilter(true)("devtools://devtools/bundled/inspector.html")).toBe("allow");
    expect(requestFilter(false)("devtools://devtools/bundled/inspector.html")).toBe("cancel");
  });
});

describe("addContentSecurityPolicy", () => {
  it("adds the strict CSP to every response, keeping the other headers", () => {
    const s = fakeSession();
    addContentSecurityPolicy(s as unknown as Session);
    const listener = s.webRequest.onHeadersReceived.mock.calls[0]![0] as (d: object, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void;
    let headers: Record<string, string[]> = {};
    listener({ url: `file://${RENDERER}/index.html`, responseHeaders: { "Content-Type": ["text/html"] } }, (r) => (headers = r.responseHeaders));
    expect(headers["Content-Security-Policy"]).toEqual([RENDERER_CSP]);
    expect(headers["Content-Type"]).toEqual(["text/html"]);
  });
});

describe("blockPermissionRequests", () => {
  const s = fakeSession();
  blockPermissionRequests(s as unknown as Session);

  it.each(["media", "geolocation", "notifications", "clipboard-read", "display-capture", "openExternal", "fileSystem"])("denies a %s request", (permission) => {
    const handler = s.setPermissionRequestHandler.mock.calls[0]![0] as (wc: unknown, p: string, cb: (granted: boolean) => void) => void;
    const cb = vi.fn();
    handler({}, permission, cb);
    expect(cb).toHaveBeenCalledExactlyOnceWith(false);
  });

  it.each(["usb", "hid", "serial", "clipboard-sanitized-write", "media"])("answers no to a %s check", (permission) => {
    const check = s.setPermissionCheckHandler.mock.calls[0]![0] as (wc: unknown, p: string) => boolean;
    expect(check({}, permission)).toBe(false);
  });

  it("refuses access to USB/HID/serial devices (the HSM must only be reached by main)", () => {
    const device = s.setDevicePermissionHandler.mock.calls[0]![0] as (d: object) => boolean;
    expect(device({ deviceType: "usb", origin: "file://" })).toBe(false);
  });
});

describe("hardenSession", () => {
  it("installs the request filter, the CSP header and the permission denial", () => {
    const s = fakeSession();
    hardenSession(s as unknown as Session, RENDERER, true);
    expect(s.webRequest.onBeforeRequest).toHaveBeenCalledOnce();
    expect(s.webRequest.onHeadersReceived).toHaveBeenCalledOnce();
    expect(s.setPermissionRequestHandler).toHaveBeenCalledOnce();
    expect(s.setPermissionCheckHandler).toHaveBeenCalledOnce();
    expect(s.setDevicePermissionHandler).toHaveBeenCalledOnce();
  });
});

describe("blockNavigationAndWindowOpen", () => {
  const app = fakeApp();
  blockNavigationAndWindowOpen(app as unknown as App);
  const contents = fakeWebContents();
  app.emit("web-contents-created", {}, contents);

  it.each(["will-navigate", "will-frame-navigate", "will-redirect", "will-attach-webview"])("prevents %s", (event) => {
    const e = fakeEvent();
    contents.emit(event, e, "https://example.com/");
    expect(e.preventDefault).toHaveBeenCalled();
  });

  it("denies window.open for every URL", () => {
    const handler = contents.setWindowOpenHandler.mock.calls[0]![0] as (d: { url: string }) => { action: string };
    for (const url of ["https://example.com/", `file://${RENDERER}/index.html`, "about:blank"]) expect(handler({ url })).toEqual({ action: "deny" });
  });
});

describe("findDebugSwitch", () => {
  const base = { argv: ["/opt/Custos/custos"], execArgv: [], env: {}, inspectorUrl: () => undefined };

  it.each([
    [["/opt/Custos/custos", "--inspect"], "--inspect"],
    [["/opt/Custos/custos", "--inspect-brk=9229"], "--inspect-brk"],
    [["/opt/Custos/custos", "--remote-debugging-port=9222"], "--remote-debugging-port"],
    [["/opt/Custos/custos", "--remote-debugging-pipe"], "--remote-debugging-pipe"],
    [["/opt/Custos/custos", "--no-sandbox"], "--no-sandbox"],
    [["/opt/Custos/custos", "--disable-seccomp-filter-sandbox"], "--disable-seccomp-filter-sandbox"],
  ])("finds %j", (argv, found) => {
    expect(findDebugSwitch(() => false, { ...base, argv })).toBe(found);
  });

  it("finds a switch Chromium parsed, one in NODE_OPTIONS, and a listening inspector", () => {
    expect(findDebugSwitch((s) => s === "remote-debugging-port", base)).toBe("--remote-debugging-port");
    expect(findDebugSwitch(() => false, { ...base, env: { NODE_OPTIONS: "--max-old-space-size=99 --inspect=0" } })).toBe("--inspect");
    expect(findDebugSwitch(() => false, { ...base, inspectorUrl: () => "ws://127.0.0.1:9229/x" })).toBe("inspector");
  });

  it("ignores ordinary arguments", () => {
    expect(findDebugSwitch(() => false, { ...base, argv: ["/opt/Custos/custos", "--no-sandbox-not-really", "--inspection-report", "file.yaml"] })).toBeUndefined();
  });
});

describe("disableCoreDumpsAndDebugging", () => {
  const tmp: string[] = [];
  afterEach(() => {
    for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function deps(over: Partial<ProcessDeps> = {}): ProcessDeps {
    return {
      argv: ["/opt/Custos/custos"],
      execArgv: [],
      env: {},
      platform: "linux",
      pid: 1000,
      inspectorUrl: () => undefined,
      setCoreLimitZero: vi.fn(() => true),
      log: vi.fn(),
      ...over,
    };
  }

  function userData() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "custos-hardening-"));
    tmp.push(d);
    return d;
  }

  it("leaves development builds alone", () => {
    const app = fakeApp({ isPackaged: false });
    const d = deps({ argv: ["electron", "--inspect=0"] });
    const r = disableCoreDumpsAndDebugging(app as unknown as App, d);
    expect(r.refused).toBeUndefined();
    expect(app.exit).not.toHaveBeenCalled();
    expect(d.setCoreLimitZero).not.toHaveBeenCalled();
  });

  it("refuses to start a packaged build with --inspect, --remote-debugging-port or --no-sandbox", () => {
    const cases = [
      [["/opt/Custos/custos", "--inspect=9229"], []],
      [["/opt/Custos/custos"], ["remote-debugging-port"]],
      [["/opt/Custos/custos"], ["no-sandbox"]],
    ] as const;
    for (const [argv, switches] of cases) {
      const app = fakeApp({ isPackaged: true, userData: userData(), switches: [...switches] });
      const d = deps({ argv: [...argv] });
      const r = disableCoreDumpsAndDebugging(app as unknown as App, d);
      expect(r.refused).toMatch(/^--(inspect|remote-debugging-port|no-sandbox)$/);
      expect(app.exit).toHaveBeenCalledWith(1);
      expect(d.log).toHaveBeenCalledWith(expect.stringContaining("refusing to start"));
    }
  });

  it("on Linux limits core dumps of main at once, of Chromium's children when ready, of each renderer once loaded", () => {
    const app = fakeApp({ isPackaged: true, userData: userData(), metricsPids: [1000, 1001, 1002] });
    const d = deps();
    const r = disableCoreDumpsAndDebugging(app as unknown as App, d);
    expect(r.coreDumps).toBe("disabled");
    expect(d.setCoreLimitZero).toHaveBeenCalledExactlyOnceWith(1000);
    app.emit("ready");
    expect(d.setCoreLimitZero).toHaveBeenCalledWith(1001);
    expect(d.setCoreLimitZero).toHaveBeenCalledWith(1002);
    const contents = fakeWebContents(2000);
    app.emit("web-contents-created", {}, contents);
    contents.emit("did-finish-load");
    expect(d.setCoreLimitZero).toHaveBeenCalledWith(2000);
    expect(d.setCoreLimitZero).toHaveBeenCalledTimes(4);
  });

  it("says so when core dumps could not be limited", () => {
    const app = fakeApp({ isPackaged: true, userData: userData() });
    const d = deps({ setCoreLimitZero: vi.fn(() => false) });
    expect(disableCoreDumpsAndDebugging(app as unknown as App, d).coreDumps).toMatch(/NOT disabled/);
    expect(d.log).toHaveBeenCalledWith(expect.stringContaining("ulimit -c 0"));
  });

  it("points crash dumps at a folder of ours and empties it at every start", () => {
    const dir = userData();
    fs.mkdirSync(path.join(dir, "crash-dumps"));
    fs.writeFileSync(path.join(dir, "crash-dumps", "old.dmp"), "key material");
    const app = fakeApp({ isPackaged: true, userData: dir });
    const r = disableCoreDumpsAndDebugging(app as unknown as App, deps({ platform: "darwin" }));
    expect(app.setPath).toHaveBeenCalledWith("crashDumps", path.join(dir, "crash-dumps"));
    expect(r.crashDumpsDir).toBe(path.join(dir, "crash-dumps"));
    expect(fs.readdirSync(path.join(dir, "crash-dumps"))).toEqual([]);
    expect(r.coreDumps).toMatch(/not changed on darwin/);
  });
});

describe("setCoreLimitZeroWithPrlimit (real prlimit)", () => {
  const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].some((p) => fs.existsSync(p));
  it.skipIf(process.platform !== "linux" || !prlimit)("sets another process's core limit to 0", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await new Promise((r) => child.once("spawn", r));
      expect(setCoreLimitZeroWithPrlimit(child.pid!)).toBe(true);
      const line = fs.readFileSync(`/proc/${child.pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max core file size"));
      expect(line).toMatch(/^Max core file size\s+0\s+0\s+bytes/);
    } finally {
      child.kill();
    }
  });
});
