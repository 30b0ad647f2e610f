// The real Electron app, driven by Playwright's _electron: the hardening that
// only exists in Electron (sandboxed preload, one global, request filter,
// window.open denial) checked from inside the renderer.
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { _electron as electron, expect, test, type ElectronApplication, type Page } from "@playwright/test";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = path.join(ROOT, "dist", "electron", "main.cjs");

/** The Electron executable require("electron") names, if it exists (installs with ELECTRON_SKIP_BINARY_DOWNLOAD have none). */
function electronBinary(): string | null {
  try {
    const p = createRequire(import.meta.url)("electron") as unknown;
    return typeof p === "string" && fs.existsSync(p) ? p : null;
  } catch {
    // node_modules/electron/index.js throws when path.txt (written by the binary download) is missing.
    return null;
  }
}

const SKIP_REASON =
  "no Electron binary installed: node_modules/electron/dist missing; install with ELECTRON_SKIP_BINARY_DOWNLOAD unset to run this suite";
const hasElectron = electronBinary() !== null;
// The list reporter does not print skip reasons; say it once, where people look.
if (!hasElectron && !process.env.TEST_WORKER_INDEX) console.warn(`Custos Electron suite skipped: ${SKIP_REASON}`);

test.describe("Custos in Electron", () => {
  test.skip(!hasElectron, SKIP_REASON);

  let app: ElectronApplication;
  let page: Page;
  let dataDir: string;

  test.beforeAll(async () => {
    if (!fs.existsSync(MAIN)) throw new Error("dist/electron/main.cjs is missing: run `npm run build` first");
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-electron-e2e-"));
    // CUSTOS_DATA_DIR is honoured by development (unpackaged) runs only.
    app = await electron.launch({ args: [MAIN], cwd: ROOT, env: { ...process.env, CUSTOS_DATA_DIR: dataDir } as Record<string, string> });
    page = await app.firstWindow();
    await page.waitForLoadState("domcontentloaded");
  });

  test.afterAll(async () => {
    await app?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("opens one window titled Custos", async () => {
    const titles = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().map((w) => w.getTitle()));
    expect(titles).toHaveLength(1);
    expect(titles[0]).toMatch(/^Custos/);
  });

  test("exposes exactly one global function, window.custos.invoke", async () => {
    const shape = await page.evaluate(() => {
      const api = (window as unknown as { custos?: Record<string, unknown> }).custos;
      return { keys: api ? Object.keys(api) : null, invoke: typeof api?.invoke };
    });
    expect(shape).toEqual({ keys: ["invoke"], invoke: "function" });
  });

  test("gives the renderer no Node: require, process, module and Buffer are undefined", async () => {
    const types = await page.evaluate(() => [typeof (globalThis as Record<string, unknown>).require, typeof (globalThis as Record<string, unknown>).process, typeof (globalThis as Record<string, unknown>).module, typeof (globalThis as Record<string, unknown>).Buffer]);
    expect(types).toEqual(["undefined", "undefined", "undefined", "undefined"]);
  });

  test("answers through the one channel, and refuses an unknown channel", async () => {
    const [info, unknown] = await page.evaluate(async () => {
      const api = (window as unknown as { custos: { invoke: (c: string, p: unknown) => Promise<{ ok: boolean; code?: string }> } }).custos;
      return [await api.invoke("app:info", {}), await api.invoke("fs:read", { path: "/etc/passwd" })];
    });
    expect(info.ok).toBe(true);
    expect(unknown).toMatchObject({ ok: false, code: "IPC_UNKNOWN_CHANNEL" });
  });

  test("cannot reach the network or other local files", async () => {
    const outcomes = await page.evaluate(async () => {
      const attempt = async (url: string) => {
        try {
          await fetch(url);
          return "resolved";
        } catch {
          return "rejected";
        }
      };
      return [await attempt("https://example.com/"), await attempt("http://127.0.0.1:9/"), await attempt("file:///etc/hostname")];
    });
    expect(outcomes).toEqual(["rejected", "rejected", "rejected"]);
  });

  test("cannot open windows or navigate away", async () => {
    const opened = await page.evaluate(() => window.open("https://example.com/") === null);
    expect(opened).toBe(true);
    const before = page.url();
    await page.evaluate(() => {
      window.location.href = "https://example.com/";
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });

  test("shows the home screen with the REHEARSAL choice", async () => {
    await expect(page.getByText("REHEARSAL", { exact: true }).first()).toBeVisible();
  });
});
