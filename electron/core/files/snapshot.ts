/**
 * One private copy of an evidence file (and a database's -wal), so that what
 * is verified and what is then read back are the same bytes: a file swapped
 * or edited between the two reads cannot slip unverified content into a
 * ceremony or a register. The copy lives in a 0700 temporary folder that is
 * removed afterwards; messages name the original file, never the copy.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CustosError } from "../errors";
import { MAX_EVIDENCE_BYTES } from "../transcript/verify/index";

export async function withEvidenceSnapshot<T>(file: string, use: (copy: string) => Promise<T> | T): Promise<T> {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    st = undefined;
  }
  // Not a regular file (or none, or too large to be evidence): the reader's own checks say what is wrong with it, naming it.
  if (!st?.isFile() || st.size > MAX_EVIDENCE_BYTES) return use(file);
  let dir: string;
  let copy: string;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-snapshot-"));
  } catch {
    // No room for a copy (a full disk): the reader reads the file itself and says what it can.
    return use(file);
  }
  try {
    try {
      fs.chmodSync(dir, 0o700);
      copy = path.join(dir, path.basename(file));
      fs.copyFileSync(file, copy);
      const wal = `${file}-wal`;
      if (fs.existsSync(wal) && fs.statSync(wal).isFile()) fs.copyFileSync(wal, `${copy}-wal`);
    } catch {
      // The file cannot be copied (unreadable, or no room): the reader reads it itself and names the problem.
      return await use(file);
    }
    try {
      return await use(copy);
    } catch (e) {
      if (e instanceof CustosError && e.message.includes(copy)) {
        throw new CustosError(e.code, e.message.split(copy).join(file), e.hint.split(copy).join(file), { cause: e.cause, details: e.details });
      }
      throw e;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
