/**
 * Custos main process: a thin shell that owns windows and dialogs only.
 * Hardening first, then the core host (SQLite, PKCS#11, PDF, scrypt) in a
 * utility process, one IPC entry point, the guards, and the window. This
 * bundle loads no native module: everything that could block or crash on a
 * vendor's library runs in the host (test/unit/main/main-bundle.test.ts).
 */
import fs from "node:fs";
import { app, BrowserWindow, ipcMain, Menu, screen, session, shell } from "electron";
import { runCli, cliArguments } from "./cli-mode";
import { askHung, confirmLeave, showFatal, showOpen, showSave } from "./dialogs";
import { createFront } from "./front";
import { LeaveGuard } from "./guards";
import { blockNavigationAndWindowOpen, disableCoreDumpsAndDebugging, hardenSession, setCoreLimitZeroLater } from "./hardening";
import { HostSupervisor } from "./host-supervisor";
import { registerIpc, trustedSender } from "./ipc";
import { utilityLauncher } from "./launch-utility";
import { openLog } from "./log";
import { menuTemplate } from "./menu";
import { resolvePaths } from "./paths";
import { openWindow } from "./window";

const paths = resolvePaths(app, __dirname);
app.setPath("userData", paths.userDataDir);
const log = openLog(paths.logFile, { echo: (l) => console.error(l) });
const hardening = disableCoreDumpsAndDebugging(app);
const cli = cliArguments(process.argv);
process.on("uncaughtException", (e) => {
  log.lineSync(`main process: uncaught exception: ${e.stack ?? e.message}`);
  app.exit(1);
});

if (cli) {
  // No window and no single-instance lock: an auditor may verify while a ceremony runs.
  runCli(app, utilityLauncher(paths.cliPath, { serviceName: "Custos command", env: { ...process.env, CUSTOS_CLI_ARGV: JSON.stringify(cli), CUSTOS_SQLITE_BINDING: paths.sqliteBinding } }));
} else {
  log.line(`Custos ${app.getVersion()} starting: Electron ${process.versions.electron}, ${process.platform}-${process.arch}, ${app.isPackaged ? "packaged" : "development"}; data ${paths.dataDir}; core dumps ${hardening.coreDumps}`);
  // Chromium's OS sandbox for every renderer, whatever a window's preferences say.
  app.enableSandbox();

  // One instance only: two would share the transcript database and the HSM
  // session, and could run the same ceremony step twice.
  if (hardening.refused || !app.requestSingleInstanceLock()) {
    log.line(hardening.refused ? `refused to start with ${hardening.refused}` : "another Custos is running: focusing it");
    app.quit();
  } else {
    startApp();
  }
}

function startApp(): void {
  const windows = new Set<BrowserWindow>();
  let roomWindow: BrowserWindow | null = null;
  const parent = () => roomWindow;

  const supervisor = new HostSupervisor({
    launch: utilityLauncher(paths.hostPath, { serviceName: "Custos core" }),
    init: {
      dataDir: paths.dataDir,
      resourcesDir: paths.resourcesDir,
      settingsFile: paths.settingsFile,
      // Always named: a missing or wrong-ABI module is then a clear start error, not a crash at the first query.
      sqliteBinding: paths.sqliteBinding,
      // Cheap scrypt only for development runs that ask for it (the Electron end-to-end suite).
      ...(!app.isPackaged && process.env.CUSTOS_KDF_COST === "test" ? { kdfCost: "test" as const } : {}),
    },
    log: (l) => log.line(l),
    // It inherits the main process's zero core limit; set again per host, restarts included (it holds the KEK).
    onReady: (pid) => {
      if (app.isPackaged) setCoreLimitZeroLater(pid, (l) => log.line(l));
    },
    onHung: askHung(parent),
    onFatal: (reason) => {
      log.line(`the core cannot run: ${reason.code}: ${reason.message}`);
      void showFatal(parent, reason, log.file).then(() => app.exit(1));
    },
  });

  const guard = new LeaveGuard({ status: () => supervisor.status(), confirm: confirmLeave(parent), log: (l) => log.line(l) });
  guard.guardQuit(app, async () => {
    await supervisor.stop();
    log.line("Custos closed");
    await log.flush();
  });

  blockNavigationAndWindowOpen(app);
  app.on("session-created", (s) => hardenSession(s, paths.rendererDir));
  app.on("second-instance", () => {
    if (roomWindow?.isMinimized()) roomWindow.restore();
    roomWindow?.focus();
  });
  app.on("window-all-closed", () => app.quit());
  app.on("child-process-gone", (_e, d) => log.line(`${d.type} process${d.name ? ` "${d.name}"` : ""} ended: ${d.reason} (exit code ${d.exitCode})`));

  app
    .whenReady()
    .then(() => {
      hardenSession(session.defaultSession, paths.rendererDir);
      Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ isPackaged: app.isPackaged, platform: process.platform })));
      if (!fs.existsSync(paths.sqliteBinding)) log.line(`no Electron-ABI SQLite module at ${paths.sqliteBinding}: run build/setup.sh (or node build/electron-native.mjs)`);
      void supervisor.start();
      const front = createFront({
        host: {
          call: (c, p) => supervisor.call(c, p),
          grant: (f, purpose) => supervisor.grant(f, purpose),
          finishedFolder: () => {
            const s = supervisor.status();
            return s?.done && s.artifactsDir ? s.artifactsDir : null;
          },
        },
        showOpen: showOpen(parent),
        showSave: showSave(parent),
        openFolder: (dir) => shell.openPath(dir),
      });
      const surfaces = new Map<number, "room" | "private" | "single">();
      registerIpc(
        ipcMain,
        front,
        trustedSender({ windows: () => [...windows], fromWebContents: (c) => BrowserWindow.fromWebContents(c), rendererDir: paths.rendererDir }),
        (event) => surfaces.get(BrowserWindow.fromWebContents(event.sender)?.id ?? -1) ?? "room",
      );
      // Two displays: the room display (projected, filmed) on the external one, the private view on the
      // built-in panel; one display: one window, which opens the private view only when the operator asks.
      const displays = screen.getAllDisplays();
      const builtIn = displays.find((d) => d.internal) ?? screen.getPrimaryDisplay();
      const external = displays.find((d) => d.id !== builtIn.id);
      const plan: Array<{ surface: "room" | "private" | "single"; bounds?: Electron.Rectangle }> = external
        ? [
            { surface: "room", bounds: external.workArea },
            { surface: "private", bounds: builtIn.workArea },
          ]
        : [{ surface: "single" }];
      for (const w of plan) {
        const win = openWindow({
          preloadPath: paths.preloadPath,
          rendererDir: paths.rendererDir,
          guard,
          surface: w.surface,
          bounds: w.bounds,
          log: (l) => log.line(l),
          giveUp: (reason) => void showFatal(parent, { message: reason, hint: "Quit and start Custos again; every completed step is kept." }, log.file),
        });
        windows.add(win);
        surfaces.set(win.id, w.surface);
        // Dialogs belong to the operator's window.
        if (w.surface !== "room") roomWindow = win;
        win.on("closed", () => {
          windows.delete(win);
          surfaces.delete(win.id);
          if (roomWindow === win) roomWindow = null;
        });
      }
    })
    .catch((e: unknown) => {
      log.lineSync(`Custos cannot start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      void showFatal(parent, { message: e instanceof Error ? e.message : String(e), hint: "" }, log.file).then(() => app.exit(1));
    });
}
