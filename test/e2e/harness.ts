import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { dispatch } from "../../electron/core/app/dispatch";
import { createAppService } from "../../electron/core/app/service";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCREENS = path.join(ROOT, "test-results", "screens");

/** A real core behind window.custos, as the preload would provide it in Electron. */
export async function openApp(page: Page, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-e2e-"))) {
  const service = createAppService({
    dataDir,
    resourcesDir: ROOT,
    kdfCost: "test",
    attestWindowMs: 10 * 60_000,
    networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }],
  });
  await page.exposeBinding("__custosInvoke", (_src, channel: unknown, payload: unknown) => dispatch(service.handlers, channel, payload));
  await page.addInitScript(() => {
    const bound = (window as unknown as { __custosInvoke: (c: unknown, p: unknown) => Promise<unknown> }).__custosInvoke;
    Object.defineProperty(window, "custos", { value: Object.freeze({ invoke: (c: unknown, p: unknown) => bound(c, p) }), writable: false });
  });
  const index = path.join(ROOT, "dist", "renderer", "index.html");
  if (!fs.existsSync(index)) throw new Error("dist/renderer is missing: run `npm run build:renderer` first");
  await page.goto(`file://${index}`);
  return { service, dataDir };
}

let shot = 0;
/** Keeps a screenshot of what the room sees, numbered in order, as a test artifact. */
export async function screenshot(page: Page, name: string) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, `${String(++shot).padStart(3, "0")}-${name}.png`), fullPage: false });
}
