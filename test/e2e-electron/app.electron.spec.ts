// The real Electron app, driven by Playwright's _electron, where an Electron
// binary is installed (without one every test reports itself skipped, with the
// reason). Each test starts its own app with its own userData and data folder,
// with Chromium's sandbox ON (Playwright adds --no-sandbox on Linux unless
// chromiumSandbox is true). Checked here because only Electron has them: the
// core host in a utility process with the Electron-ABI SQLite module, the
// renderer sandbox, the request filter (counted at a local server), the
// leave guard, crash recovery, and one whole generation rehearsal.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { _electron as electron, expect, test, type ElectronApplication, type Page } from "@playwright/test";
import { Room, type Person } from "../e2e/room";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = path.join(ROOT, "dist", "electron", "main.cjs");
const NATIVE = path.join(ROOT, "native-electron", "better_sqlite3.node");

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

const SKIP_REASON = "no Electron binary installed (node_modules/electron/dist is missing): run build/setup.sh on a machine with internet access to run this suite";
const binary = electronBinary();
// The list reporter does not print skip reasons; say it once, where people look.
if (!binary && !process.env.TEST_WORKER_INDEX) console.warn(`Custos Electron suite skipped: ${SKIP_REASON}`);

/** Why this machine cannot run the app at all, if it cannot (then the tests fail with that, rather than time out). */
function precondition(): string | null {
  if (!fs.existsSync(MAIN)) return "dist/electron/main.cjs is missing: run `npm run build` first";
  if (!fs.existsSync(NATIVE)) return "native-electron/better_sqlite3.node is missing: run `node build/electron-native.mjs` (needs network once)";
  const read = (f: string, d: string) => {
    try {
      return fs.readFileSync(f, "utf8").trim();
    } catch {
      return d;
    }
  };
  const restricted = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0") === "1" || read("/proc/sys/kernel/unprivileged_userns_clone", "1") === "0";
  if (process.platform === "linux" && restricted && binary) {
    const helper = path.join(path.dirname(binary), "chrome-sandbox");
    const st = fs.statSync(helper, { throwIfNoEntry: false });
    if (!st || st.uid !== 0 || (st.mode & 0o4777) !== 0o4755) return `Chromium's sandbox cannot start here: run build/setup.sh --fix-sandbox (makes ${helper} setuid root)`;
  }
  return null;
}

interface Launched {
  app: ElectronApplication;
  page: Page;
  userData: string;
  dataDir: string;
  printed: string;
}

/** Starts the app as `npm start` does, sandbox on, in throwaway folders; printing goes to a recorder. */
async function launch(): Promise<Launched> {
  const why = precondition();
  if (why) throw new Error(why);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "custos-electron-e2e-"));
  const userData = path.join(base, "userData");
  const dataDir = path.join(base, "data");
  const printed = path.join(base, "printed");
  fs.mkdirSync(printed);
  const lp = path.join(base, "lp");
  fs.writeFileSync(lp, `#!/bin/sh\nn=$(ls "${printed}" | wc -l)\ncat > "${printed}/job-$n.pdf"\necho "request id is electron-$n"\n`, { mode: 0o755 });
  const app = await electron.launch({
    args: [ROOT],
    cwd: ROOT,
    chromiumSandbox: true,
    // Development-only overrides (a packaged build ignores them).
    env: { ...process.env, CUSTOS_USER_DATA_DIR: userData, CUSTOS_DATA_DIR: dataDir, CUSTOS_KDF_COST: "test", CUSTOS_LP_COMMAND: lp } as Record<string, string>,
  });
  const page = await app.firstWindow();
  await page.waitForLoadState("domcontentloaded");
  // One display: the window shows the room display; the operator opens the private view to act.
  await page.getByRole("button", { name: "Open the private view" }).first().click({ timeout: 30_000 });
  return { app, page, userData, dataDir, printed };
}

const invoke = (page: Page, channel: string, payload: unknown) =>
  page.evaluate(([c, p]) => (window as unknown as { custos: { invoke: (c: string, p: unknown) => Promise<{ ok: boolean; code?: string; message?: string; value?: unknown }> } }).custos.invoke(c, p), [channel, payload] as const);

test.describe("Custos in Electron", () => {
  test.skip(!binary, SKIP_REASON);
  let run: Launched | null = null;

  test.afterEach(async () => {
    if (!run) return;
    // Nothing may be left in progress: a leave question would block the close.
    await run.app.evaluate(({ dialog }) => {
      (dialog as unknown as { showMessageBox: () => Promise<{ response: number }> }).showMessageBox = async () => ({ response: 1 });
    });
    await run.app.close();
    fs.rmSync(path.dirname(run.userData), { recursive: true, force: true });
    run = null;
  });

  test("starts its core host in a utility process with the Electron-ABI SQLite module", async () => {
    run = await launch();
    const list = await invoke(run.page, "ceremony:list", {});
    expect(list, JSON.stringify(list)).toMatchObject({ ok: true, value: [] });
    const metrics = await run.app.evaluate(({ app }) => app.getAppMetrics().map((m) => ({ type: m.type, name: m.name ?? "", pid: m.pid })));
    const host = metrics.find((m) => m.type === "Utility" && m.name === "Custos core");
    expect(host, JSON.stringify(metrics)).toBeTruthy();
    const mainPid = await run.app.evaluate(() => process.pid);
    expect(host!.pid).not.toBe(mainPid);
    // The host loaded the module from native-electron/, and the main process loaded no native module at all.
    expect(fs.readFileSync(`/proc/${host!.pid}/maps`, "utf8")).toContain(NATIVE);
    const mainMaps = fs.readFileSync(`/proc/${mainPid}/maps`, "utf8");
    for (const lib of ["better_sqlite3.node", "pkcs11.node", "libsofthsm2"]) expect(mainMaps).not.toContain(lib);
    await expect.poll(() => fs.readFileSync(path.join(run!.userData, "logs", "custos.log"), "utf8")).toMatch(/core host \d+ ready \(Node [\d.]+, NODE_MODULE_VERSION \d+, SQLite module: .*native-electron/);
  });

  test("runs the renderer in Chromium's sandbox, with no Node and one global", async () => {
    run = await launch();
    const argv = await run.app.evaluate(() => process.argv);
    expect(argv).not.toContain("--no-sandbox");
    const rendererPid = await run.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.webContents.getOSProcessId());
    // seccomp-bpf (mode 2) is applied to sandboxed renderers only.
    expect(fs.readFileSync(`/proc/${rendererPid}/status`, "utf8")).toMatch(/^Seccomp:\s+2$/m);
    const shape = await run.page.evaluate(() => {
      const g = globalThis as Record<string, unknown>;
      const api = (window as unknown as { custos?: Record<string, unknown> }).custos;
      return { keys: api ? Object.keys(api) : null, invoke: typeof api?.invoke, node: [typeof g.require, typeof g.process, typeof g.module, typeof g.Buffer] };
    });
    expect(shape).toEqual({ keys: ["invoke"], invoke: "function", node: ["undefined", "undefined", "undefined", "undefined"] });
    expect(await invoke(run.page, "fs:read", { path: "/etc/passwd" })).toMatchObject({ ok: false, code: "IPC_UNKNOWN_CHANNEL" });
    expect(await invoke(run.page, "verify:file", { path: "/etc/passwd" })).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
  });

  test("lets no request out: fetch, <img>, WebSocket, beacon, navigation and window.open reach a local server zero times", async () => {
    let hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      res.end("ok");
    });
    server.on("upgrade", (req, socket) => {
      hits.push(`upgrade ${req.url}`);
      socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // The counter counts: a request from the test itself is seen.
      await fetch(`${url}/control`);
      expect(hits).toEqual(["/control"]);
      hits = [];
      run = await launch();
      const before = run.page.url();
      await run.page.evaluate(async (u) => {
        const attempts: Array<Promise<unknown>> = [];
        attempts.push(fetch(`${u}/fetch`).catch(() => null));
        attempts.push(fetch(`${u}/fetch-no-cors`, { mode: "no-cors" }).catch(() => null));
        const img = new Image();
        img.src = `${u}/img.png`;
        document.body.appendChild(img);
        try {
          const ws = new WebSocket(`${u.replace("http", "ws")}/ws`);
          ws.onerror = () => ws.close();
        } catch {
          // refused outright
        }
        try {
          navigator.sendBeacon(`${u}/beacon`, "x");
        } catch {
          // refused outright
        }
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = `${u}/style.css`;
        document.head.appendChild(link);
        window.open(`${u}/open`);
        await Promise.all(attempts);
        window.location.href = `${u}/navigate`;
      }, url);
      await run.page.waitForTimeout(2000);
      expect(hits).toEqual([]);
      expect(run.page.url()).toBe(before);
      expect(await run.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    } finally {
      server.close();
    }
  });

  test("asks before closing while a question is open, and closes when the room says leave", async () => {
    run = await launch();
    await run.page.getByLabel(/Root key generation/).check();
    await run.page.getByRole("button", { name: "Start rehearsal" }).click();
    await run.page.getByRole("button", { name: /^Run this step/ }).click();
    await expect(run.page.locator("[data-testid^=prompt-]")).toBeVisible();
    // Main learns of the open question from the core host's status message, which travels beside the renderer's answer.
    await run.page.waitForTimeout(500);
    // The native question is answered by the test: first "Stay", then "Leave anyway".
    await run.app.evaluate(({ dialog }) => {
      const g = globalThis as unknown as { asked: string[]; answer: number };
      g.asked = [];
      g.answer = 0;
      (dialog as unknown as { showMessageBox: (...a: unknown[]) => Promise<{ response: number }> }).showMessageBox = async (...a: unknown[]) => {
        const opts = (a.length > 1 ? a[1] : a[0]) as { message: string };
        g.asked.push(opts.message);
        return { response: g.answer };
      };
    });
    await run.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    await expect.poll(() => run!.app.evaluate(() => (globalThis as unknown as { asked: string[] }).asked.length)).toBe(1);
    expect(await run.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    expect(await run.app.evaluate(() => (globalThis as unknown as { asked: string[] }).asked[0])).toMatch(/A question of step 1 of 16, "Opening of the ceremony" is open\./);
    await expect(run.page.locator("[data-testid^=prompt-]")).toBeVisible();
    const closed = run.app.waitForEvent("close");
    await run.app.evaluate(({ BrowserWindow }) => {
      (globalThis as unknown as { answer: number }).answer = 1;
      BrowserWindow.getAllWindows()[0]!.close();
    });
    await closed;
    const log = fs.readFileSync(path.join(run.userData, "logs", "custos.log"), "utf8");
    expect(log).toMatch(/leaving during a ceremony, confirmed/);
    expect(log).toMatch(/core host \d+ stopped \(exit code 0\)/);
    fs.rmSync(path.dirname(run.userData), { recursive: true, force: true });
    run = null;
  });

  test("reloads a crashed renderer from the core's session: the ceremony is where it was", async () => {
    run = await launch();
    await run.page.getByLabel(/Root key generation/).check();
    await run.page.getByRole("button", { name: "Start rehearsal" }).click();
    const room = new Room(run.page, generationRoom);
    await room.runStep();
    await expect(run.page.getByTestId("step-counter")).toHaveText("Step 2 of 16");
    await run.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.webContents.forcefullyCrashRenderer());
    await expect.poll(() => fs.readFileSync(path.join(run!.userData, "logs", "custos.log"), "utf8")).toMatch(/renderer ended: (killed|crashed)[^]*reloading the window/);
    const page = run.app.windows()[0]!;
    await expect(page.getByTestId("step-counter")).toHaveText("Step 2 of 16", { timeout: 20_000 });
    await expect(page.getByTestId("mode-badge")).toContainText("REHEARSAL");
  });

  test("a whole generation rehearsal through the real app, printed in the room, verified at the end", async () => {
    test.setTimeout(600_000);
    run = await launch();
    const page = run.page;
    await page.getByLabel(/Root key generation/).check();
    await page.getByLabel(/REHEARSAL/).check();
    await page.getByLabel("Custodians (shares)").fill("3");
    await page.getByLabel("Threshold").fill("2");
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    await expect(page.getByTestId("mode-badge")).toHaveText("REHEARSAL — not a production ceremony");
    const room = new Room(page, generationRoom.filter((p) => p.role !== "custodian" || custodians.slice(0, 3).includes(p.name)));
    for (let i = 0; i < 15; i++) await room.runStep();
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    expect(room.shares.size).toBe(3);
    // The in-room print-report step went to the printer.
    const jobs = fs.readdirSync(run.printed);
    expect(jobs).toHaveLength(1);
    expect(fs.readFileSync(path.join(run.printed, jobs[0]!)).subarray(0, 5).toString()).toBe("%PDF-");
    await page.getByRole("button", { name: "Verify the transcript now" }).click();
    await expect(page.getByTestId("done-verdict")).toHaveText("Intact: 15 entries, sealed by the root key.");
    await page.getByRole("button", { name: "Print report" }).click();
    await expect(page.getByRole("status")).toHaveText("Printed: request id is electron-1");
  });
});

const pass = (name: string) => `${name.toLowerCase().replace(/ /g, "-")}-passphrase-2026`;
const person = (name: string, role: string): Person => ({ name, role, passphrase: pass(name) });
const custodians = ["Chiara Rossi", "Dmitri Volkov", "Esther Cohen", "Farid Haddad", "Grace Hopper"];
const generationRoom: Person[] = [
  person("Ada Lovelace", "ceremony-administrator"),
  person("Brian Kernighan", "security-officer"),
  person("Hiro Tanaka", "internal-witness"),
  ...custodians.map((c) => person(c, "custodian")),
];
