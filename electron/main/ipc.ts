/**
 * The one IPC entry point of the main process. The sender is checked inside
 * the wrapper, before any handler, so no handler can forget it; payloads are
 * then parsed by the shared channel schemas (front.ts, and again in the core
 * host). Nothing throws across IPC: every answer is a Result.
 */
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent, WebContents } from "electron";
import { IPC_CHANNEL, type Result } from "../shared/ipc";
import { isRendererFileUrl } from "./paths";

/** Answers one checked request (the front: dialogs in main, everything else in the core host). */
export type RequestHandler = (channel: unknown, payload: unknown, surface?: "room" | "private" | "single") => Promise<Result<unknown>>;

/** Decides whether an IPC message comes from our own renderer. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

const UNTRUSTED: Result<never> = {
  ok: false,
  code: "IPC_UNTRUSTED_SENDER",
  message: "This request did not come from the Custos window and was refused.",
  hint: "",
};

/** Registers the single ipcMain handler: sender check first, then the request handler; never throws across IPC. */
export function registerIpc(
  ipcMain: Pick<IpcMain, "handle">,
  handle: RequestHandler,
  isTrustedSender: SenderCheck,
  /** The surface of the sending window (the room display only reads); by window, never by what the renderer says. */
  surfaceOf: (event: IpcMainInvokeEvent) => "room" | "private" | "single" = () => "single",
): void {
  ipcMain.handle(IPC_CHANNEL, async (event: IpcMainInvokeEvent, channel: unknown, payload: unknown): Promise<Result<unknown>> => {
    try {
      // A frame that is not our renderer (a subframe, a page it was navigated
      // to, another window) must not reach a handler that drives the HSM.
      if (!isTrustedSender(event)) return UNTRUSTED;
      return await handle(channel, payload, surfaceOf(event));
    } catch (e) {
      // The handler already turns errors into Results; this catches a
      // failing sender check or a bug in the handler itself.
      return { ok: false, code: "INTERNAL", message: e instanceof Error ? e.message : String(e), hint: "" };
    }
  });
}

/** What the sender check needs: the app's windows, how to find a window from web contents, and the renderer folder. */
export interface TrustedSenderDeps {
  /** Every window of ours that may talk to the core (today one; the room display and the private view later). */
  windows: () => BrowserWindow[];
  fromWebContents: (contents: WebContents) => BrowserWindow | null;
  rendererDir: string;
}

/** The sender check: the top frame of one of our windows, showing a file of our renderer folder. */
export function trustedSender(deps: TrustedSenderDeps): SenderCheck {
  return (event) => {
    const win = deps.fromWebContents(event.sender);
    if (!win || win.isDestroyed() || !deps.windows().includes(win)) return false;
    const frame = event.senderFrame;
    // senderFrame is null once the frame navigated away or was destroyed.
    if (!frame || frame.parent !== null) return false;
    return isRendererFileUrl(frame.url, deps.rendererDir);
  };
}
