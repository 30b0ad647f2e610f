#!/usr/bin/env node
// Smoke test of dist/electron/main.cjs without an Electron binary: loads the
// bundle under plain Node with a stand-in "electron" module, lets it start
// the real core service (in a temporary data folder), then calls the IPC
// handler it registered. Proves the bundle resolves every require (externals
// included) and wires app -> hardening -> service -> IPC -> window.
// Usage: node build/esbuild-electron.mjs && node build/smoke-electron-bundle.cjs
"use strict";
const assert = require("node:assert/strict");
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
process.env.CUSTOS_DATA_DIR = path.join(tmp, "data");

let ready;
const whenReady = new Promise((r) => (ready = r));
const setPaths = { appData: path.join(tmp, "appData") };
const app = Object.assign(new EventEmitter(), {
  isPackaged: false,
  getPath: (n) => setPaths[n] ?? path.join(tmp, n),
  setPath: (n, v) => (setPaths[n] = v),
  enableSandbox: () => (app.sandboxed = true),
  requestSingleInstanceLock: () => true,
  whenReady: () => whenReady,
  quit: () => {},
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
    this.webContents = {};
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
const ipc = {};
const electron = { app, BrowserWindow, session, ipcMain: { handle: (channel, fn) => (ipc[channel] = fn) }, dialog: { showErrorBox: (t, m) => assert.fail(`${t}: ${m}`) } };
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === "electron" ? electron : load.call(this, request, ...rest);
};

(async () => {
  require(main);
  ready();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(app.sandboxed, "app.enableSandbox() was called");
  assert.equal(setPaths.userData, path.join(tmp, "appData", "Custos"));
  assert.equal(windows.length, 1, "one window");
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
  let answer;
  session.filter({ url: "https://example.com/", resourceType: "xhr" }, (r) => (answer = r));
  assert.deepEqual(answer, { cancel: true });
  session.filter({ url: `file://${win.loaded}`, resourceType: "mainFrame" }, (r) => (answer = r));
  assert.deepEqual(answer, { cancel: false });
  app.emit("will-quit");
  assert.ok(fs.existsSync(path.join(tmp, "data", "transcript.sqlite")), "the service opened its database in the data folder");
  console.log("smoke-electron-bundle: ok (bundle loads, service answers app:info, sender check and request filter active)");
})()
  .catch((e) => {
    console.error(`smoke-electron-bundle: FAILED: ${e.stack ?? e}`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }));
