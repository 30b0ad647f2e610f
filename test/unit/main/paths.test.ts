import path from "node:path";
import type { App } from "electron";
import { describe, expect, it } from "vitest";
import { isRendererFileUrl, resolvePaths } from "../../../electron/main/paths";
import { fakeApp } from "./electron-mock";

describe("resolvePaths", () => {
  it("finds everything relative to the bundle: <root>/dist/electron", () => {
    const p = resolvePaths(fakeApp({ isPackaged: true }) as unknown as App, "/opt/Custos/resources/app.asar/dist/electron", {});
    expect(p.resourcesDir).toBe("/opt/Custos/resources/app.asar");
    expect(p.rendererDir).toBe("/opt/Custos/resources/app.asar/dist/renderer");
    expect(p.preloadPath).toBe("/opt/Custos/resources/app.asar/dist/electron/preload.cjs");
    expect(p.userDataDir).toBe(path.join("/tmp/custos-test-app-data", "Custos"));
    expect(p.dataDir).toBe(path.join(p.userDataDir, "data"));
  });

  it("finds the core host, the CLI, the Electron-ABI SQLite module (unpacked next to app.asar), settings and log", () => {
    const p = resolvePaths(fakeApp({ isPackaged: true }) as unknown as App, "/opt/Custos/resources/app.asar/dist/electron", {});
    expect(p.hostPath).toBe("/opt/Custos/resources/app.asar/dist/electron/core-host.cjs");
    expect(p.cliPath).toBe("/opt/Custos/resources/app.asar/dist/electron/cli.cjs");
    expect(p.sqliteBinding).toBe("/opt/Custos/resources/app.asar.unpacked/native-electron/better_sqlite3.node");
    expect(p.settingsFile).toBe(path.join(p.userDataDir, "settings.json"));
    expect(p.logFile).toBe(path.join(p.userDataDir, "logs", "custos.log"));
    const dev = resolvePaths(fakeApp({ isPackaged: false }) as unknown as App, "/repo/dist/electron", {});
    expect(dev.sqliteBinding).toBe("/repo/native-electron/better_sqlite3.node");
  });

  it.each(["CUSTOS_USER_DATA_DIR", "CUSTOS_SQLITE_BINDING"])("honours %s in development only", (name) => {
    const env = { [name]: "/tmp/elsewhere" };
    const pick = (p: ReturnType<typeof resolvePaths>) => (name === "CUSTOS_USER_DATA_DIR" ? p.userDataDir : p.sqliteBinding);
    expect(pick(resolvePaths(fakeApp({ isPackaged: false }) as unknown as App, "/repo/dist/electron", env))).toBe("/tmp/elsewhere");
    expect(pick(resolvePaths(fakeApp({ isPackaged: true }) as unknown as App, "/opt/Custos/resources/app.asar/dist/electron", env))).not.toBe("/tmp/elsewhere");
  });

  it("honours CUSTOS_DATA_DIR in development only", () => {
    const env = { CUSTOS_DATA_DIR: "/tmp/custos-e2e" };
    expect(resolvePaths(fakeApp({ isPackaged: false }) as unknown as App, "/repo/dist/electron", env).dataDir).toBe("/tmp/custos-e2e");
    expect(resolvePaths(fakeApp({ isPackaged: true }) as unknown as App, "/repo/dist/electron", env).dataDir).not.toBe("/tmp/custos-e2e");
  });
});

describe("isRendererFileUrl", () => {
  it.each([
    ["file:///r/dist/renderer/index.html", true],
    ["file:///r/dist/renderer/assets/a.js", true],
    ["file:///r/dist/renderer/..foo.js", true],
    ["file:///r/dist/renderer/", false],
    ["file:///r/dist/renderer/../electron/main.cjs", false],
    ["file:///r/dist/renderer2/index.html", false],
    ["file://host/r/dist/renderer/index.html", false],
    ["https:///r/dist/renderer/index.html", false],
    ["", false],
  ])("%s -> %s", (url, ok) => {
    expect(isRendererFileUrl(url, "/r/dist/renderer")).toBe(ok);
  });
});
