/**
 * The app's windows: hardened webPreferences, hidden until the first paint,
 * showing our renderer's index.html from disk, each guarded against an
 * accidental close and reloaded from the core's session when its renderer
 * crashes or hangs. Today one window; the room display and the private view
 * will be two calls of openWindow with their own roles.
 */
import path from "node:path";
import { BrowserWindow } from "electron";
import { secureWebPreferences } from "./hardening";
import { guardRenderer, type LeaveGuard } from "./guards";

/** What a window needs from the rest of the shell. */
export interface WindowDeps {
  preloadPath: string;
  rendererDir: string;
  guard: LeaveGuard;
  log: (line: string) => void;
  /** The window cannot be kept alive (crash loop). */
  giveUp: (reason: string) => void;
}

/** Creates a Custos window and loads the renderer into it. */
export function openWindow(o: WindowDeps): BrowserWindow {
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
  const index = path.join(o.rendererDir, "index.html");
  const load = () =>
    win.loadFile(index).catch((e: unknown) => {
      // Shown rather than left as an invisible window that looks like a hang.
      o.log(`could not load the renderer: ${e instanceof Error ? e.message : String(e)}`);
      if (!win.isDestroyed()) win.show();
    });
  win.once("ready-to-show", () => win.show());
  o.guard.guardWindow(win);
  guardRenderer(win, { reload: () => void load(), log: (l) => o.log(`window ${win.id}: ${l}`), giveUp: o.giveUp });
  void load();
  return win;
}
