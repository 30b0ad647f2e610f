/**
 * The one window: hardened webPreferences, hidden until the first paint,
 * showing our renderer's index.html from disk.
 */
import path from "node:path";
import { BrowserWindow } from "electron";
import { secureWebPreferences } from "./hardening";

/** Creates the Custos window and loads the renderer into it. */
export function createMainWindow(o: { preloadPath: string; rendererDir: string }): BrowserWindow {
  const win = new BrowserWindow({
    title: "Custos",
    width: 1280,
    height: 900,
    minWidth: 960,
    minHeight: 640,
    show: false,
    backgroundColor: "#ffffff",
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(o.preloadPath),
  });
  win.once("ready-to-show", () => win.show());
  win.loadFile(path.join(o.rendererDir, "index.html")).catch((e: unknown) => {
    // Shown rather than left as an invisible window that looks like a hang.
    console.error(`Custos: could not load the renderer: ${e instanceof Error ? e.message : String(e)}`);
    if (!win.isDestroyed()) win.show();
  });
  return win;
}
