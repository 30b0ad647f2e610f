/**
 * Custos main process: a thin shell. Hardening first, then one core service,
 * one IPC entry point and one window; everything that matters is in electron/core.
 */
import { app, BrowserWindow, dialog, ipcMain, session } from "electron";
import { createAppService } from "../core/app/service";
import { blockNavigationAndWindowOpen, disableCoreDumpsAndDebugging, hardenSession } from "./hardening";
import { registerIpc, trustedSender } from "./ipc";
import { resolvePaths } from "./paths";
import { createMainWindow } from "./window";

const paths = resolvePaths(app, __dirname);
app.setPath("userData", paths.userDataDir);
const hardening = disableCoreDumpsAndDebugging(app);
console.error(`Custos: core dumps ${hardening.coreDumps}.`);
// Chromium's OS sandbox for every renderer, whatever a window's preferences say.
app.enableSandbox();

// One instance only: two would share the transcript database and the HSM
// session, and could run the same ceremony step twice.
if (hardening.refused || !app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  let service: ReturnType<typeof createAppService> | null = null;
  blockNavigationAndWindowOpen(app);
  app.on("session-created", (s) => hardenSession(s, paths.rendererDir));
  app.on("second-instance", () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.on("window-all-closed", () => app.quit());
  // Closing the service closes the HSM session and the transcript database.
  app.on("will-quit", () => {
    service?.close();
    service = null;
  });
  app
    .whenReady()
    .then(() => {
      hardenSession(session.defaultSession, paths.rendererDir);
      service = createAppService({ dataDir: paths.dataDir, resourcesDir: paths.resourcesDir });
      const isTrusted = trustedSender({ mainWindow: () => win, fromWebContents: (c) => BrowserWindow.fromWebContents(c), rendererDir: paths.rendererDir });
      registerIpc(ipcMain, service.handlers, isTrusted);
      win = createMainWindow(paths);
      win.on("closed", () => (win = null));
    })
    .catch((e: unknown) => {
      dialog.showErrorBox("Custos cannot start", e instanceof Error ? e.message : String(e));
      app.exit(1);
    });
}
