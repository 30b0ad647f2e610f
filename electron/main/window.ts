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
  /** Which surface it shows: the room display, the private view, or both in one window (one display). */
  surface?: "room" | "private" | "single";
  /** Where it opens (the display's work area); full screen there for the room display. */
  bounds?: { x: number; y: number; width: number; height: number };
}

/** Creates a Custos window and loads the renderer into it. */
export function openWindow(o: WindowDeps): BrowserWindow {
  const win = new BrowserWindow({
    title: o.surface === "room" ? "Custos — room display" : o.surface === "private" ? "Custos — private view" : "Custos",
    ...(o.bounds ?? { width: 1280, height: 900 }),
    fullscreen: o.surface === "room",
    minWidth: 960,
    minHeight: 640,
    show: false,
    backgroundColor: "#ffffff",
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(o.preloadPath),
  });
  const index = path.join(o.rendererDir, "index.html");
  const load = () =>
    win.loadFile(index, { hash: `/${o.surface ?? "single"}` }).catch((e: unknown) => {
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
