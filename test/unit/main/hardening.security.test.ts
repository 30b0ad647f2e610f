// Security regressions of the shell's configuration: every webPreferences
// flag, the CSP, and the Electron fuses of the packaged app. A change that
// weakens any of them must fail here, not in a review.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { RENDERER_CSP, secureWebPreferences } from "../../../electron/main/hardening";

vi.mock("electron", async () => (await import("./electron-mock")).electronModule);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

describe("secureWebPreferences", () => {
  const expected: Array<[string, unknown]> = [
    ["sandbox", true],
    ["contextIsolation", true],
    ["nodeIntegration", false],
    ["nodeIntegrationInWorker", false],
    ["nodeIntegrationInSubFrames", false],
    ["webSecurity", true],
    ["allowRunningInsecureContent", false],
    ["experimentalFeatures", false],
    ["webviewTag", false],
    ["navigateOnDragDrop", false],
    ["spellcheck", false],
    ["disableBlinkFeatures", "Auxclick"],
  ];

  it.each(expected)("sets %s explicitly to %s", (flag, value) => {
    const prefs = secureWebPreferences("/app/dist/electron/preload.cjs", true) as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(prefs, flag)).toBe(true);
    expect(prefs[flag]).toBe(value);
  });

  it("uses the given preload and enables no Blink features", () => {
    const prefs = secureWebPreferences("/app/dist/electron/preload.cjs", true);
    expect(prefs.preload).toBe("/app/dist/electron/preload.cjs");
    expect(prefs.enableBlinkFeatures).toBeUndefined();
    expect(prefs.additionalArguments).toBeUndefined();
  });

  it("turns DevTools off in packaged builds and on only in development", () => {
    expect(secureWebPreferences("/p.cjs", true).devTools).toBe(false);
    expect(secureWebPreferences("/p.cjs", false).devTools).toBe(true);
  });

  it("reads app.isPackaged when not told", async () => {
    const { electronModule } = await import("./electron-mock");
    electronModule.app.isPackaged = true;
    expect(secureWebPreferences("/p.cjs").devTools).toBe(false);
    electronModule.app.isPackaged = false;
  });
});

describe("Content Security Policy", () => {
  it("is strict: no inline or eval, no network, no frames, no forms", () => {
    const directives = new Map(RENDERER_CSP.split(";").map((d) => d.trim().split(/\s+/) as [string, ...string[]]).map(([k, ...v]) => [k, v]));
    expect(directives.get("default-src")).toEqual(["'none'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("connect-src")).toEqual(["'none'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(directives.get("form-action")).toEqual(["'none'"]);
    expect(directives.get("base-uri")).toEqual(["'none'"]);
    expect(RENDERER_CSP).not.toMatch(/unsafe-|\*|https?:|blob:/);
  });

  const indexHtml = path.join(ROOT, "renderer", "index.html");
  it.skipIf(!fs.existsSync(indexHtml))("is the same text as the renderer's meta tag", () => {
    const html = fs.readFileSync(indexHtml, "utf8");
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    expect(meta?.[1]).toBe(RENDERER_CSP);
  });
});

describe("Electron fuses of the packaged app", () => {
  const config = parse(fs.readFileSync(path.join(ROOT, "build", "electron-builder.yml"), "utf8")) as Record<string, unknown>;
  const fuses = config.electronFuses as Record<string, boolean>;

  it.each([
    ["runAsNode", false],
    ["enableNodeOptionsEnvironmentVariable", false],
    ["enableNodeCliInspectArguments", false],
    ["enableEmbeddedAsarIntegrityValidation", true],
    ["onlyLoadAppFromAsar", true],
    ["enableCookieEncryption", true],
    ["grantFileProtocolExtraPrivileges", false],
  ])("sets %s to %s", (fuse, value) => {
    expect(fuses[fuse]).toBe(value);
  });

  it("packs the app into an asar archive with only native addons unpacked", () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toEqual(["**/*.node"]);
  });
});
