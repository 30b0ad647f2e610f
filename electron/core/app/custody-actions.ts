/**
 * The custody register for the app's auditor screen (issue 16): the files
 * chosen in Open dialogs (handles of purpose "verify"), the same register as
 * `custos custody`. The screen never holds paths: each file is shown by its
 * folder and name.
 */
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { buildRegister } from "../custody/index";
import type { CustodyRegister } from "../custody/types";
import type { FileHandles } from "./file-handles";

/** "g/transcript.sqlite": enough to tell the chosen files apart, without the path. */
export function shownName(file: string): string {
  return `${path.basename(path.dirname(file))}/${path.basename(file)}`;
}

/** The register with every path the screen would see replaced by its shown name. */
export function withoutPaths(r: CustodyRegister, files: string[]): CustodyRegister {
  let text = JSON.stringify(r);
  for (const f of [...files].sort((a, b) => b.length - a.length)) text = text.split(JSON.stringify(f).slice(1, -1)).join(JSON.stringify(shownName(f)).slice(1, -1));
  return JSON.parse(text) as CustodyRegister;
}

/** The custody:* handlers of the core. */
export function custodyHandlers(d: { files: FileHandles }) {
  return {
    async "custody:register"(req: ChannelRequest<"custody:register">) {
      const files = [...new Set(req.files.map((h) => path.resolve(d.files.resolve(h, ["verify"]))))];
      const r = await buildRegister(files, { ...(req.checkIntervalMonths ? { checkIntervalMonths: req.checkIntervalMonths } : {}) });
      return withoutPaths(r, files);
    },
  };
}

/** What the screen shows (types only: the renderer may import nothing else from the core). */
export type { BagRecord, CustodyRegister, ShareRecord } from "../custody/types";
