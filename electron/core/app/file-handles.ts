/**
 * Opaque handles for files the operator chose in a dialog of the main
 * process. The renderer only ever holds handles: a compromised renderer (or
 * whoever holds the keyboard and opens DevTools in a development build) can
 * name no file the operator did not pick for that very purpose, so it can
 * neither read another installation's transcript nor aim a share card at a
 * file of its choosing.
 */
import crypto from "node:crypto";
import path from "node:path";
import type { FilePurpose } from "../../shared/ipc";
import { CustosError } from "../errors";

interface Entry {
  path: string;
  purpose: FilePurpose;
}

/** The handle registry of one core host process (handles die with it). */
export class FileHandles {
  private readonly entries = new Map<string, Entry>();

  /** Registers an absolute path chosen for a purpose; returns its handle and the name to show. */
  grant(file: string, purpose: FilePurpose): { handle: string; name: string } {
    if (!path.isAbsolute(file)) throw new CustosError("FILE_NOT_ABSOLUTE", "A chosen file must be a full path.", "");
    const handle = `f_${crypto.randomBytes(16).toString("hex")}`;
    this.entries.set(handle, { path: path.resolve(file), purpose });
    return { handle, name: path.basename(file) };
  }

  /** The path behind a handle, if it was granted for one of these purposes. */
  resolve(handle: string, purposes: readonly FilePurpose[]): string {
    const e = this.entries.get(handle);
    if (!e) throw new CustosError("FILE_HANDLE_UNKNOWN", "That file choice is no longer valid.", "Choose the file again.");
    if (!purposes.includes(e.purpose)) {
      throw new CustosError("FILE_HANDLE_PURPOSE", `That file was chosen to ${describe(e.purpose)}, not for this.`, "Choose the file again with the button next to this action.");
    }
    return e.path;
  }

  /** Forgets a handle (a Save handle is used once). */
  drop(handle: string): void {
    this.entries.delete(handle);
  }
}

function describe(p: FilePurpose): string {
  switch (p) {
    case "verify":
      return "verify it";
    case "source-transcript":
      return "load a source transcript";
    case "source-backup":
      return "load a source backup";
    case "share-card":
      return "save a share card";
    case "report":
      return "save a report";
  }
}
