/**
 * The private folders that hold a copy of evidence while it is verified and
 * read (files/snapshot.ts, transcript/store-open.ts). Each is made 0700 in the
 * temporary directory and named after its process, so a later run can remove
 * the folders a killed process (SIGKILL, power cut) left behind: it does so
 * only for its own user's folders whose process is gone.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { processAlive } from "./atomic";

const NAME = /^custos-(snapshot|evidence)-(\d+)-[A-Za-z0-9]{6}$/;

/** A new private folder for a copy of evidence. */
export function privateCopyDir(kind: "snapshot" | "evidence"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `custos-${kind}-${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * Removes private copy folders whose process no longer runs; returns their
 * names. Only real folders (not links) owned by this user; a folder whose
 * process number was taken by another process is left for later. Never throws.
 */
export function sweepDeadCopies(tmp = os.tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    const dir = path.join(tmp, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: left as it is.
    }
  }
  return removed;
}
