/**
 * Files in and out of the session: the share card on screen saved to the
 * custodian's medium or printed, and the auditor's screen reading a
 * transcript, bundle or report the operator chose.
 */
import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import type { ShareCardView } from "../engine/types";
import { CustosError } from "../errors";
import { lexists, writeFileAtomic } from "../files/atomic";
import { LOCK_NAMES } from "../files/lock";
import { isInside, realTarget } from "../files/paths";
import { shareCardPdf } from "../rehearse/rehearse";
import { readForViewer, verifyAnyFile } from "../source";
import type { FileHandles } from "./file-handles";
import type { PrintPdf } from "./print";

export interface EvidenceActionDeps {
  files: FileHandles;
  print: PrintPdf;
  /** The app's own data folder: a share card is never written into it. */
  dataDir: string;
  /** The share card being handed out right now, if any. */
  onScreen: () => ShareCardView | null | undefined;
}

/** The session:share-card, verify:file and transcript:entries handlers of the core. */
export function evidenceHandlers(d: EvidenceActionDeps) {
  const { files } = d;
  return {
    async "session:share-card"(req: ChannelRequest<"session:share-card">) {
      const card = d.onScreen();
      if (!card) throw new CustosError("NO_SHARE_ON_SCREEN", "No share card is on screen.", "Print or save a card while it is being handed out.");
      const pdf = await shareCardPdf(card);
      if (req.action === "save") {
        const target = checkedCardPath(files.resolve(req.file, ["share-card"]), d.dataDir);
        // Atomic and never over an existing file (link(2)), even one that appeared since the check.
        writeFileAtomic(target, pdf, { mode: 0o600, overwrite: false });
        files.drop(req.file);
        return { saved: path.basename(target) };
      }
      return { printed: await d.print(pdf, "Custos share card") };
    },
    async "verify:file"(req: ChannelRequest<"verify:file">) {
      return verifyAnyFile(notTheLock(files.resolve(req.file, ["verify"])));
    },
    async "transcript:entries"(req: ChannelRequest<"transcript:entries">) {
      const src = await readVerifiedSourceLoose(notTheLock(files.resolve(req.file, ["verify"])), req.ceremonyId);
      return src;
    },
  };
}

/** The lock is a POSIX lock: this process opening and closing the lock file would drop it. */
function notTheLock(p: string): string {
  if (LOCK_NAMES.includes(path.basename(realTarget(p)))) throw new CustosError("VERIFY_UNREADABLE", "That is Custos's lock file, not a transcript, bundle or report.", "Choose a transcript.sqlite, bundle.json or report.pdf.");
  return p;
}

/** The viewer's verdict and, when the ceremony is intact, its entries (else why not): both from one copy of the file. */
async function readVerifiedSourceLoose(file: string, ceremonyId?: string) {
  const { verdict, source, error } = await readForViewer(file, ceremonyId);
  if (!source) return { verdict, ceremony: null, entries: [], error };
  return { verdict, ceremony: { ...source.meta, scriptText: undefined }, entries: source.entries.map((e) => ({ ...e.body, signers: e.signatures.map((s) => s.signer) })) };
}

/**
 * Where an operator may save a share card: an absolute path they chose, never
 * inside the app's own data folder, never over an existing file.
 */
export function checkedCardPath(p: string | undefined, dataDir: string): string {
  if (!p || !path.isAbsolute(p)) throw new CustosError("SHARE_CARD_PATH", "Choose a full path for the share card file.", "For example a removable medium that goes into the custodian's bag.");
  const target = path.resolve(p);
  // Checked after following symlinks: a link elsewhere that points into the app's folder is refused too.
  if (isInside(target, dataDir)) {
    throw new CustosError("SHARE_CARD_PATH", "Share cards are never stored in Custos's own folders.", "Choose a removable medium or print the card.");
  }
  if (!target.toLowerCase().endsWith(".pdf")) throw new CustosError("SHARE_CARD_PATH", "The share card file name must end in .pdf.", "");
  if (lexists(target)) throw new CustosError("SHARE_CARD_PATH", `${target} exists; Custos does not overwrite files.`, "Choose a new file name.");
  if (!fs.existsSync(path.dirname(target))) throw new CustosError("SHARE_CARD_PATH", `The folder ${path.dirname(target)} does not exist.`, "Choose a folder on the removable medium.");
  return target;
}
