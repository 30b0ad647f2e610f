/**
 * The main process's dialogs. All asynchronous: a modal wait on the main
 * thread would freeze every window of the app.
 */
import { dialog, type BrowserWindow } from "electron";
import type { HostStatus } from "../core/host/protocol";
import type { DialogRequest } from "./front";
import type { HungDecision } from "./host-supervisor";

type Parent = () => BrowserWindow | null;

const withParent = <T>(parent: Parent, show: (w: BrowserWindow | undefined) => Promise<T>) => {
  const w = parent();
  return show(w && !w.isDestroyed() ? w : undefined);
};

/** Open dialog: the chosen path, or null. */
export function showOpen(parent: Parent) {
  return (r: DialogRequest) =>
    withParent(parent, async (w) => {
      const opts = { title: r.title, filters: r.filters, properties: ["openFile" as const] };
      const res = w ? await dialog.showOpenDialog(w, opts) : await dialog.showOpenDialog(opts);
      return res.canceled ? null : (res.filePaths[0] ?? null);
    });
}

/** Save dialog: the chosen path, or null. */
export function showSave(parent: Parent) {
  return (r: DialogRequest) =>
    withParent(parent, async (w) => {
      const opts = { title: r.title, filters: r.filters, defaultPath: r.defaultName, properties: ["showOverwriteConfirmation" as const, "createDirectory" as const] };
      const res = w ? await dialog.showSaveDialog(w, opts) : await dialog.showSaveDialog(opts);
      return res.canceled || !res.filePath ? null : res.filePath;
    });
}

/** "Leave anyway?" — true means leave. */
export function confirmLeave(parent: Parent) {
  return (message: string, detail: string) =>
    withParent(parent, async (w) => {
      const opts = { type: "warning" as const, title: "Custos", message, detail, buttons: ["Stay", "Leave anyway"], defaultId: 0, cancelId: 0, noLink: true };
      const r = w ? await dialog.showMessageBox(w, opts) : await dialog.showMessageBox(opts);
      return r.response === 1;
    });
}

/** The core is silent: keep waiting (a slow HSM) or restart it. Dismissed by `signal` when it answers again. */
export function askHung(parent: Parent) {
  return (silentMs: number, status: HostStatus | null, signal: AbortSignal): Promise<HungDecision> =>
    withParent(parent, async (w) => {
      const step = status?.stepTitle ? ` during "${status.stepTitle}"` : "";
      const opts = {
        type: "warning" as const,
        title: "Custos",
        message: `The HSM and the transcript have not answered for ${Math.round(silentMs / 1000)} seconds${step}.`,
        detail:
          "Some HSMs take a minute or more to generate an RSA key: waiting is usually right. Restarting stops the operation in progress; every completed step is kept, the ceremony reopens at this step, and an HSM object the stopped step may have created is detected before anything is repeated.",
        buttons: ["Keep waiting", "Restart"],
        defaultId: 0,
        cancelId: 0,
        noLink: true,
        signal,
      };
      const r = w ? await dialog.showMessageBox(w, opts) : await dialog.showMessageBox(opts);
      return r.response === 1 ? "restart" : "wait";
    });
}

/** The app cannot work: say why and where the log is. */
export async function showFatal(parent: Parent, reason: { message: string; hint: string }, logFile: string): Promise<void> {
  await withParent(parent, (w) => {
    const opts = { type: "error" as const, title: "Custos cannot continue", message: reason.message, detail: `${reason.hint}\n\nLog file: ${logFile}`, buttons: ["Quit"] };
    return w ? dialog.showMessageBox(w, opts) : dialog.showMessageBox(opts);
  });
}
