import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { CustosError } from "../errors";
import { processAlive, writeFileAtomic } from "./atomic";

/** The lock file (an empty SQLite database) and the note saying who holds it. */
export const LOCK_FILE = ".custos-lock";
export const HOLDER_FILE = ".custos-lock.json";
/** Names a lock puts in a folder; "is the folder empty" ignores them. */
export const LOCK_NAMES: readonly string[] = [LOCK_FILE, HOLDER_FILE];

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * One writer per ceremony folder: an exclusive lock held for the whole run.
 * Threat: two runs of one ceremony (two `--resume`, two app windows) each
 * initialise a token or re-run the backup, and one overwrites shares of a key
 * the transcript never recorded.
 *
 * The lock is SQLite's own (POSIX advisory locks on `.custos-lock`, taken with
 * BEGIN IMMEDIATE and never committed): the kernel drops it when the holder
 * exits or is killed, so a crashed run never leaves a stale lock and the
 * resume can start at once. (A lock-file library such as proper-lockfile
 * detects staleness by mtime instead: a resume right after a kill would be
 * refused for its stale period, and it needs a timer to keep the lock.)
 * `.custos-lock.json` only says who holds it, for the refusal message.
 *
 * POSIX locks belong to the process: closing any descriptor of the lock file
 * in the holder's own process drops them, so nothing else may open it.
 */
export class FolderLock {
  /**
   * Held locks, so a lock lives until release() even if its holder drops the
   * object: better-sqlite3 closes a collected connection, and the lock with it.
   */
  private static readonly held = new Set<FolderLock>();

  private constructor(
    private db: Database.Database | null,
    readonly dir: string,
    /** Who held the lock before and did not release it (an interrupted run), if anyone. */
    readonly previous: LockHolder | null,
  ) {}

  /** Takes the folder's lock or throws FOLDER_LOCKED naming the holder. The folder must exist. */
  static acquire(dir: string, command: string): FolderLock {
    const lockPath = path.join(dir, LOCK_FILE);
    let db: Database.Database | undefined;
    try {
      db = new Database(lockPath, { timeout: 0 });
      // RESERVED lock (BEGIN IMMEDIATE): one holder at a time. Nothing is ever written; the in-memory
      // journal keeps SQLite from making a -journal file beside the lock.
      db.pragma("journal_mode = MEMORY");
      db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      if (db?.open) db.close();
      const code = (e as { code?: string }).code ?? "";
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw lockedError(dir, currentHolder(dir));
      throw e;
    }
    const previous = readHolder(dir);
    const me: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
    try {
      writeFileAtomic(path.join(dir, HOLDER_FILE), JSON.stringify(me, null, 2) + "\n", { mode: 0o600 });
    } catch (e) {
      db.close();
      throw e;
    }
    const lock = new FolderLock(db, dir, previous);
    FolderLock.held.add(lock);
    return lock;
  }

  /** Releases the lock (idempotent). */
  release(): void {
    if (!this.db) return;
    try {
      fs.rmSync(path.join(this.dir, HOLDER_FILE), { force: true });
    } catch {
      // a read-only or vanished folder: the lock itself still goes below
    }
    this.db.close();
    this.db = null;
    FolderLock.held.delete(this);
  }
}

function readHolder(dir: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(path.join(dir, HOLDER_FILE), "utf8")) as LockHolder;
    return typeof h.pid === "number" && typeof h.command === "string" ? h : null;
  } catch {
    return null;
  }
}

/**
 * The holder's note, once it is the live holder's: between taking the lock and
 * writing its note a new holder leaves the note of the run before it (killed,
 * so it never removed it). A note naming a process that no longer runs on this
 * host is that stale one; wait briefly for the fresh note.
 */
function currentHolder(dir: string): LockHolder | null {
  for (let i = 0; i < 20; i++) {
    const h = readHolder(dir);
    if (h && (h.host !== os.hostname() || processAlive(h.pid))) return h;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
  return null;
}

/** "pid 123 on host, `custos rehearse --resume`, since …" */
export function describeHolder(h: LockHolder): string {
  return `process ${h.pid} on ${h.host} (${h.command}, since ${h.since})`;
}

function lockedError(dir: string, h: LockHolder | null): CustosError {
  return new CustosError(
    "FOLDER_LOCKED",
    `${dir} is in use by ${h ? describeHolder(h) : "another Custos process"}; only one run may write a ceremony at a time.`,
    "Nothing was changed. Wait for that run to finish, or stop it; then try again (a resume continues where it stopped).",
    { details: h ? { pid: h.pid, host: h.host } : {} },
  );
}
