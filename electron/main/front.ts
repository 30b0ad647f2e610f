/**
 * What the main process does with a renderer request once the sender check
 * passed: parse it with the shared channel map, answer the few channels that
 * are desktop matters (Open and Save dialogs, the file manager) itself, and
 * hand everything else to the core host. No Electron import: dialogs and the
 * shell are passed in (Electron's in index.ts, fakes in the Chromium harness
 * and the tests).
 */
import path from "node:path";
import { parseRequest, ROOM_CHANNELS, type ChosenFile, type FilePurpose, type Result } from "../shared/ipc";

/**
 * Which surface a request comes from: the room display (projected, filmed: it only reads, and
 * gets the state without any secret), the private view (the operator's panel), or the one window
 * of a single-display laptop (which shows the room display and opens the private view on demand).
 */
export type Surface = "room" | "private" | "single";

/** The core host, as the front sees it (HostSupervisor in the app, an in-process host in the harness). */
export interface FrontHost {
  call(channel: string, payload: unknown): Promise<Result<unknown>>;
  grant(path: string, purpose: FilePurpose): Promise<Result<unknown>>;
  /** The open ceremony's folder, when it is complete. */
  finishedFolder(): string | null;
}

/** What a dialog needs to know; `window` is whatever the caller uses to parent it. */
export interface DialogRequest {
  purpose: FilePurpose;
  title: string;
  filters: Array<{ name: string; extensions: string[] }>;
  defaultName?: string;
}

export interface FrontDeps {
  host: FrontHost;
  /** Shows an Open dialog; resolves with the chosen absolute path, or null when cancelled. */
  showOpen: (req: DialogRequest) => Promise<string | null>;
  /** Shows a Save dialog; resolves with the chosen absolute path, or null when cancelled. */
  showSave: (req: DialogRequest) => Promise<string | null>;
  /** Opens a folder in the file manager; resolves with an error message, or "" on success. */
  openFolder: (dir: string) => Promise<string>;
}

const OPEN: Record<string, Omit<DialogRequest, "purpose">> = {
  verify: { title: "Verify a transcript, bundle or report", filters: [{ name: "Transcript, bundle or report", extensions: ["sqlite", "json", "pdf"] }] },
  "source-transcript": { title: "The earlier ceremony's transcript", filters: [{ name: "Transcript, bundle or report", extensions: ["sqlite", "json", "pdf"] }] },
  "source-backup": { title: "The earlier ceremony's backup.json", filters: [{ name: "Backup", extensions: ["json"] }] },
  input: { title: "The file brought into the room (certificate request, certificate or revocation list)", filters: [{ name: "Requests, certificates, lists", extensions: ["pem", "csr", "der", "crt", "cer", "txt"] }] },
};
const SAVE: Record<string, Omit<DialogRequest, "purpose">> = {
  "share-card": { title: "Save the share card (on the custodian's removable medium)", filters: [{ name: "PDF", extensions: ["pdf"] }], defaultName: "share-card.pdf" },
  report: { title: "Save a copy of the ceremony report", filters: [{ name: "PDF", extensions: ["pdf"] }], defaultName: "custos-report.pdf" },
};

/** Builds the request handler the IPC wrapper calls after the sender check. */
export function createFront(d: FrontDeps): (channel: unknown, payload: unknown, surface?: Surface) => Promise<Result<unknown>> {
  const grant = async (file: string | null, purpose: FilePurpose): Promise<Result<ChosenFile>> => {
    if (!file) return { ok: true, value: null };
    return (await d.host.grant(file, purpose)) as Result<ChosenFile>;
  };
  return async (channel, payload, surface = "single") => {
    const req = parseRequest(channel, payload);
    if (!req.ok) return req;
    if (surface === "room") {
      // The room display's window reads the secret-free state and nothing else, whatever its renderer asks.
      if (!ROOM_CHANNELS.includes(req.channel)) return { ok: false, code: "IPC_ROOM_READ_ONLY", message: "The room display only shows the ceremony; act on the private view.", hint: "" };
      if (req.channel === "session:state") return d.host.call(req.channel, { ...(req.payload as object), surface: "room" });
    }
    const p = req.payload as { purpose: FilePurpose };
    switch (req.channel) {
      case "file:open":
        return grant(await d.showOpen({ purpose: p.purpose, ...OPEN[p.purpose]! }), p.purpose);
      case "file:save": {
        const file = await d.showSave({ purpose: p.purpose, ...SAVE[p.purpose]! });
        // GTK's dialog does not add the extension the filter shows.
        return grant(file && path.extname(file) === "" ? `${file}.pdf` : file, p.purpose);
      }
      case "report:open-folder": {
        const dir = d.host.finishedFolder();
        if (!dir) return { ok: false, code: "CEREMONY_NOT_DONE", message: "No finished ceremony is open.", hint: "" };
        const err = await d.openFolder(dir);
        return err ? { ok: false, code: "OPEN_FOLDER_FAILED", message: `The folder could not be opened (${err}).`, hint: `It is ${dir}.` } : { ok: true, value: { opened: true } };
      }
      default:
        return d.host.call(req.channel, req.payload);
    }
  };
}
