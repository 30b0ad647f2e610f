import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { createAppService } from "../../electron/core/app/service";
import { createCoreHost } from "../../electron/core/host/core-host";
import type { HostStatus } from "../../electron/core/host/protocol";
import { createFront } from "../../electron/main/front";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCREENS = path.join(ROOT, "test-results", "screens");

/**
 * A real core behind window.custos, as the app provides it: the core host
 * (in process here) behind the main process's front, whose Open and Save
 * dialogs are played by the test: push the path the operator picks onto
 * `dialogs` before clicking (nothing queued = Cancel).
 */
export async function openApp(page: Page, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-e2e-"))) {
  const service = createAppService({
    dataDir,
    resourcesDir: ROOT,
    kdfCost: "test",
    attestWindowMs: 10 * 60_000,
    networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }],
  });
  const host = createCoreHost({ service, versionBase: 0 });
  let status: HostStatus | null = null;
  host.watch((s) => (status = s));
  const dialogs: string[] = [];
  const opened: string[] = [];
  const front = createFront({
    host: {
      call: async (c, p) => (await host.invoke(c, p)).result,
      grant: async (f, purpose) => host.grant(f, purpose),
      finishedFolder: () => (status?.done ? status.artifactsDir : null),
    },
    showOpen: async () => dialogs.shift() ?? null,
    showSave: async () => dialogs.shift() ?? null,
    openFolder: async (dir) => (opened.push(dir), ""),
  });
  await page.exposeBinding("__custosInvoke", (_src, channel: unknown, payload: unknown) => front(channel, payload));
  await page.addInitScript(() => {
    const bound = (window as unknown as { __custosInvoke: (c: unknown, p: unknown) => Promise<unknown> }).__custosInvoke;
    Object.defineProperty(window, "custos", { value: Object.freeze({ invoke: (c: unknown, p: unknown) => bound(c, p) }), writable: false });
  });
  const index = path.join(ROOT, "dist", "renderer", "index.html");
  if (!fs.existsSync(index)) throw new Error("dist/renderer is missing: run `npm run build:renderer` first");
  await page.goto(`file://${index}`);
  return { service: host, dataDir, dialogs, opened };
}

let shot = 0;
/** Keeps a screenshot of what the room sees, numbered in order, as a test artifact. */
export async function screenshot(page: Page, name: string) {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, `${String(++shot).padStart(3, "0")}-${name}.png`), fullPage: false });
}
