import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";

/**
 * Every file Custos writes goes through here: a temporary file in the same
 * folder, written in full, flushed (fdatasync), then renamed over the target
 * and the folder flushed. A kill, a full disk or an I/O error at any point
 * leaves either the old file or the new one, never a truncated mix: the threat
 * is an auditor or a recovery meeting a half-written report, bundle or backup.
 *
 * Not write-file-atomic (npm): it cannot refuse to replace an existing file
 * atomically (link(2)), does not flush the folder (so the rename itself may be
 * lost in a power cut), and its random temporary names cannot be told apart
 * from evidence when a killed run leaves one behind.
 *
 * The fault-injection suite relies on this module being the only caller of
 * fdatasync(2) in the process (SQLite uses fsync), so it can address each
 * write site by its order.
 */

/** Suffix of the temporary files; a folder's lock holder removes leftovers of killed runs. */
export const TMP_SUFFIX = ".custos-tmp";
/** Names of temporary files made here (`.<name>.<pid>.custos-tmp`). */
export const TMP_NAME = /^\..+\.\d+\.custos-tmp$/;

export interface AtomicWriteOptions {
  /** File mode for a new file (before umask); default 0o644. */
  mode?: number;
  /** Replace an existing file (default). With false an existing target is refused (OUTPUT_EXISTS). */
  overwrite?: boolean;
}

/** The temporary name used for a target by this process. */
export function tmpPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}${TMP_SUFFIX}`);
}

/** Writes data to target atomically and durably (see the module comment). */
export function writeFileAtomic(target: string, data: Buffer | Uint8Array | string, o: AtomicWriteOptions = {}): void {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const dir = path.dirname(target);
  const tmp = tmpPathFor(target);
  let fd = openExclusive(tmp, o.mode ?? 0o644);
  try {
    for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    if (o.overwrite === false) linkNoClobber(tmp, target);
    else fs.renameSync(tmp, target);
  } catch (e) {
    if (fd >= 0) closeQuietly(fd);
    unlinkQuietly(tmp);
    throw e;
  }
  fsyncDir(dir);
}

/** O_EXCL create; a leftover with our own pid can only be from an earlier process that had it, so it goes. */
function openExclusive(tmp: string, mode: number): number {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  try {
    return fs.openSync(tmp, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    fs.unlinkSync(tmp);
    return fs.openSync(tmp, flags, mode);
  }
}

/** Puts tmp in place only if nothing (not even a dangling symlink) is at target. */
function linkNoClobber(tmp: string, target: string): void {
  try {
    fs.linkSync(tmp, target);
    fs.unlinkSync(tmp);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw outputExists(target);
    // File systems without hard links (FAT and exFAT removable media): check, then rename.
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
  }
  if (lexists(target)) throw outputExists(target);
  fs.renameSync(tmp, target);
}

function outputExists(target: string): CustosError {
  return new CustosError("OUTPUT_EXISTS", `${target} already exists; Custos does not overwrite files.`, "Choose a new file name, or pass --force to replace it.");
}

/** True when something, even a dangling symlink, is at p. */
export function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Flushes a folder so a rename in it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch {
    return; // not openable as a folder here (some platforms): the data itself is flushed
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot flush a folder; a real I/O error still counts.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EBADF") throw e;
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Removes temporary files a killed writer left in dir and its sub-folders
 * (only names this module makes). Call only while holding the folder's lock.
 */
export function removeStaleTemps(dir: string, depth = 2): string[] {
  const removed: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile() && TMP_NAME.test(e.name)) {
      unlinkQuietly(p);
      removed.push(p);
    } else if (e.isDirectory() && depth > 0) removed.push(...removeStaleTemps(p, depth - 1));
  }
  return removed;
}

/**
 * Removes temporary files for `target` left by writers that no longer run
 * (killed mid-write). For outputs outside a locked folder (`--out`): a live
 * writer's temporary file is left alone, so two commands never race on it.
 */
export function removeDeadTemps(target: string): void {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith(TMP_SUFFIX)) continue;
    const pid = Number(n.slice(prefix.length, -TMP_SUFFIX.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) unlinkQuietly(path.join(dir, n));
  }
}

/** Whether a process with this number runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already failing; the first error is the one reported
  }
}

function unlinkQuietly(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // nothing to remove, or the folder is gone/read-only: the first error is the one reported
  }
}
