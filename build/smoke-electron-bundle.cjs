#!/usr/bin/env node
// Smoke test of the built app without an Electron binary: loads
// dist/electron/main.cjs under plain Node with a stand-in "electron" module
// whose utilityProcess.fork is child_process.fork, so the real core host
// bundle (dist/electron/core-host.cjs) runs as a child, exactly as it would in
// a utility process. Checks that the main process wires hardening -> host ->
// front -> IPC -> window, that requests reach the host and back, that quitting
// stops the host cleanly, and that the main process itself loaded no native
// module (process.dlopen is watched). Prints one JSON line with what it saw.
// Usage: node build/esbuild-electron.mjs && node build/smoke-electron-bundle.cjs
"use strict";
const assert = require("node:assert/strict");
const { fork } = require("node:child_process");
const { EventEmitter } = require("node:events");
const fs = require("node:fs");
const Module = require("node:module");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const main = path.join(root, "dist", "electron", "main.cjs");
if (!fs.existsSync(main)) {
  console.error("smoke-electron-bundle: dist/electron/main.cjs is missing; run node build/esbuild-electron.mjs first.");
  process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "custos-smoke-"));
// Development-only overrides (a packaged build ignores them): throwaway folders,
// and the Node-ABI SQLite module in a folder of its own, as native-electron/ would be.
process.env.CUSTOS_USER_DATA_DIR = path.join(tmp, "userData");
process.env.CUSTOS_DATA_DIR = path.join(tmp, "data");
process.env.CUSTOS_KDF_COST = "test";
const binding = path.join(tmp, "native", "better_sqlite3.node");
fs.mkdirSync(path.dirname(binding));
fs.copyFileSync(path.join(root, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"), binding);
process.env.CUSTOS_SQLITE_BINDING = binding;

// What the main process loads: every dlopen, and every module it requires.
const dlopened = [];
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  dlopened.push(filename);
  return dlopen.call(this, module, filename, ...rest);
};
const required = new Set();

let ready;
const whenReady = new Promise((r) => (ready = r));
const app = Object.assign(new EventEmitter(), {
  isPackaged: false,
  getVersion: () => "0.0.0-smoke",
  getPath: (n) => path.join(tmp, n),
  setPath: (n, v) => (app.paths[n] = v),
  paths: {},
  enableSandbox: () => (app.sandboxed = true),
  requestSingleInstanceLock: () => true,
  whenReady: () => whenReady,
  quit: () => (app.quitCalled = (app.quitCalled ?? 0) + 1),
  exit: (code) => assert.fail(`app.exit(${code})`),
  commandLine: { hasSwitch: () => false },
  getAppMetrics: () => [],
});
const session = { defaultSession: { webRequest: { onBeforeRequest: (f) => (session.filter = f), onHeadersReceived: () => {} }, setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, setDevicePermissionHandler() {} } };
const windows = [];
class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.id = windows.length + 1;
    this.webContents = Object.assign(new EventEmitter(), { forcefullyCrashRenderer() {} });
    windows.push(this);
  }
  loadFile(file) {
    this.loaded = file;
    return Promise.resolve();
  }
  isDestroyed() {
    return false;
  }
  static fromWebContents(wc) {
    return windows.find((w) => w.webContents === wc) ?? null;
  }
}
const hosts = [];
const utilityProcess = {
  fork(modulePath, args, options) {
    const child = fork(modulePath, args, { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"], env: options.env });
    hosts.push(child);
    return Object.assign(new EventEmitter(), {
      get pid() {
        return child.pid;
      },
      postMessage: (m) => child.send(m),
      on(event, cb) {
        child.on(event, cb);
        return this;
      },
      once(event, cb) {
        child.once(event, cb);
        return this;
      },
      kill: () => child.kill("SIGTERM"),
    });
  },
};
const ipc = {};
const dialogs = [];
// One display (a laptop alone): one window, the "single" surface.
const display = { id: 1, internal: true, workArea: { x: 0, y: 0, width: 1920, height: 1080 } };
const screen = { getAllDisplays: () => [display], getPrimaryDisplay: () => display };
const electron = {
  app,
  BrowserWindow,
  session,
  screen,
  utilityProcess,
  ipcMain: { handle: (channel, fn) => (ipc[channel] = fn) },
  Menu: { buildFromTemplate: (t) => t, setApplicationMenu: (m) => (app.menu = m) },
  shell: { openPath: async () => "" },
  dialog: {
    showMessageBox: async (...a) => (dialogs.push(a), { response: 0 }),
    showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
    showSaveDialog: async () => ({ canceled: true }),
    showErrorBox: (t, m) => assert.fail(`${t}: ${m}`),
  },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  required.add(request);
  return request === "electron" ? electron : load.call(this, request, ...rest);
};

(async () => {
  require(main);
  Module._load = load;
  ready();
  const until = async (what, ms = 20000) => {
    const t0 = Date.now();
    while (!what()) {
      if (Date.now() - t0 > ms) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await until(() => windows.length === 1);
  assert.ok(app.sandboxed, "app.enableSandbox() was called");
  assert.equal(app.paths.userData, path.join(tmp, "userData"));
  assert.ok(Array.isArray(app.menu), "an application menu is set");
  const win = windows[0];
  assert.equal(win.options.title, "Custos");
  assert.equal(win.options.webPreferences.sandbox, true);
  assert.equal(win.options.webPreferences.preload, path.join(root, "dist", "electron", "preload.cjs"));
  assert.equal(win.loaded, path.join(root, "dist", "renderer", "index.html"));
  const invoke = ipc["custos:invoke"];
  assert.ok(invoke, "the custos:invoke handler is registered");
  const ours = { sender: win.webContents, senderFrame: { url: `file://${win.loaded}`, parent: null } };
  const info = await invoke(ours, "app:info", {});
  assert.equal(info.ok, true, JSON.stringify(info));
  assert.ok(info.value.scripts.some((s) => s.file === "root-key-generation.yaml"), "the shipped scripts are found");
  const foreign = { sender: win.webContents, senderFrame: { url: "https://evil.example/", parent: null } };
  assert.equal((await invoke(foreign, "app:info", {})).code, "IPC_UNTRUSTED_SENDER");
  assert.equal((await invoke(ours, "ceremony:start", { script: "root-key-generation.yaml", mode: "evil" })).code, "IPC_INVALID_PAYLOAD");
  assert.equal((await invoke(ours, "verify:file", { path: "/etc/passwd" })).code, "IPC_INVALID_PAYLOAD");
  assert.deepEqual(await invoke(ours, "file:open", { purpose: "verify" }), { ok: true, value: null }, "a cancelled dialog answers null");
  const started = await invoke(ours, "ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" });
  assert.equal(started.ok, true, JSON.stringify(started));
  let answer;
  session.filter({ url: "https://example.com/", resourceType: "xhr" }, (r) => (answer = r));
  assert.deepEqual(answer, { cancel: true });
  session.filter({ url: `file://${win.loaded}`, resourceType: "mainFrame" }, (r) => (answer = r));
  assert.deepEqual(answer, { cancel: false });
  assert.equal(hosts.length, 1, "one core host");
  const host = hosts[0];

  // Quit: nothing is running, so no question; the host is asked to stop and exits 0.
  const exited = new Promise((r) => host.once("exit", (code, signal) => r({ code, signal })));
  app.emit("before-quit", { preventDefault: () => (app.quitPrevented = true) });
  assert.deepEqual(await exited, { code: 0, signal: null });
  await until(() => app.quitCalled === 1);
  assert.equal(dialogs.length, 0, "no dialog when nothing is in progress");
  assert.ok(fs.existsSync(path.join(tmp, "data", "transcript.sqlite")), "the host opened its database in the data folder");
  const log = fs.readFileSync(path.join(tmp, "userData", "logs", "custos.log"), "utf8");
  assert.match(log, /core host \d+ ready/);

  const natives = ["better-sqlite3", "graphene-pk11", "pkcs11js", "pdfkit"].filter((n) => required.has(n));
  const summary = { ok: true, hostPid: host.pid, mainPid: process.pid, dlopened, nativeRequires: natives, requires: [...required].sort() };
  assert.deepEqual(dlopened, [], "the main process dlopen()ed nothing");
  assert.deepEqual(natives, [], "the main process required no native package");
  console.log(JSON.stringify(summary));
})()
  .catch((e) => {
    console.error(`smoke-electron-bundle: FAILED: ${e.stack ?? e}`);
    process.exitCode = 1;
    for (const h of hosts) h.kill("SIGKILL");
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }));
