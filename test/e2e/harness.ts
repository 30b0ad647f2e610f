import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
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
export async function openApp(page: Page, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-e2e-")), settingsFile = path.join(dataDir, "settings.json"), opts: { attestWindowMs?: number } = {}) {
  const service = createAppService({
    dataDir,
    settingsFile,
    resourcesDir: ROOT,
    kdfCost: "test",
    attestWindowMs: opts.attestWindowMs ?? 10 * 60_000,
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
  const index = path.join(ROOT, "dist", "renderer", "index.html");
  if (!fs.existsSync(index)) throw new Error("dist/renderer is missing: run `npm run build:renderer` first");
  // Each page is one surface, bound by the harness as the main process binds a window: the room
  // display's page gets the secret-free state and may only read.
  const bind = async (p: Page, surface: "room" | "private") => {
    await p.exposeBinding("__custosInvoke", (_src, channel: unknown, payload: unknown) => front(channel, payload, surface));
    await p.addInitScript(() => {
      const bound = (window as unknown as { __custosInvoke: (c: unknown, p: unknown) => Promise<unknown> }).__custosInvoke;
      Object.defineProperty(window, "custos", { value: Object.freeze({ invoke: (c: unknown, p: unknown) => bound(c, p) }), writable: false });
    });
    await p.goto(`file://${index}#/${surface}`);
  };
  await bind(page, "private");
  let room: Page | null = null;
  return {
    service: host,
    dataDir,
    settingsFile,
    dialogs,
    opened,
    /** Opens the room display (1920×1080, as projected) on the same core. */
    async openRoom(): Promise<Page> {
      room = await page.context().newPage();
      await room.setViewportSize({ width: 1920, height: 1080 });
      await bind(room, "room");
      return room;
    },
  };
}

let shot = 0;
const named = new Set<string>();
/** Keeps a screenshot of one surface, numbered in order, as a test artifact; once per name. */
export async function surfaceShot(page: Page, surface: "room" | "private", name: string, always = false) {
  const key = `${surface}/${name}`;
  if (!always && named.has(key)) return;
  named.add(key);
  const dir = path.join(SCREENS, surface);
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${String(++shot).padStart(3, "0")}-${name}.png`), fullPage: false });
}

const axed = new Set<string>();
/** axe on a screen (once per surface and name): no violations. */
export async function axe(page: Page, surface: string, name: string) {
  const key = `${surface}/${name}`;
  if (axed.has(key)) return;
  axed.add(key);
  const r = await new AxeBuilder({ page }).analyze();
  const v = r.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
  expect(v, `axe on ${key}`).toEqual([]);
}

/** A screenshot of the private view (the page the operator drives). */
export async function screenshot(page: Page, name: string) {
  await surfaceShot(page, "private", name, true);
}
