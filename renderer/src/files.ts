// Files are chosen in the main process's dialogs; the screen only ever holds
// an opaque handle and the file's name to show.
import type { ChosenFile, OPEN_PURPOSES } from "../../electron/shared/ipc";
import { call } from "./api";

export type { ChosenFile };

/** Shows an Open dialog; null when cancelled. */
export function chooseOpen(purpose: (typeof OPEN_PURPOSES)[number]): Promise<ChosenFile> {
  return call<ChosenFile>("file:open", { purpose });
}

/** Shows a Save dialog; null when cancelled. */
export function chooseSave(purpose: "share-card" | "report"): Promise<ChosenFile> {
  return call<ChosenFile>("file:save", { purpose });
}
