import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { TMP_NAME, removeStaleTemps } from "../files/atomic";
import { toCustosError } from "../files/fault";
import { FolderLock, LOCK_FILE, LOCK_NAMES } from "../files/lock";

/** A rehearsal folder this process holds the lock of. */
export interface ClaimedFolder {
  dir: string;
  lock: FolderLock;
  /** This run made the folder (so a failed start removes it again). */
  created: boolean;
}

/**
 * Makes (or takes an empty) folder for a new rehearsal and locks it. The
 * emptiness check runs after the lock is held, so two runs started on one new
 * folder cannot both see it empty: one proceeds, the other is refused.
 */
export function claimNewFolder(dir: string, command: string): ClaimedFolder {
  let created = false;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) throw new CustosError("REHEARSAL_OUT", `${dir} exists and is not a folder.`, "Choose a new folder for the rehearsal.");
  if (!st) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; // another run made it a moment ago: the lock decides
    }
  }
  let lock: FolderLock;
  try {
    lock = FolderLock.acquire(dir, command);
  } catch (e) {
    if (created) removeQuietly(dir);
    throw toCustosError(e, { doing: `locking ${dir}`, intact: created ? `Nothing was left in ${dir}.` : "Nothing was changed.", next: "Run the same command again." });
  }
  const others = fs.readdirSync(dir).filter((n) => !LOCK_NAMES.includes(n));
  if (others.length && others.every((n) => isStartLeftover(dir, n))) {
    // A start killed before rehearsal.json existed: only its own empty token folder, config and
    // temporary files are here, no ceremony can have begun, so the same command may start afresh.
    for (const n of others) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  } else if (others.length) {
    lock.release();
    throw new CustosError("REHEARSAL_OUT", `${dir} is not empty.`, "Choose a new or empty folder: a rehearsal never overwrites earlier output (to continue an interrupted one, use --resume).");
  }
  return { dir, lock, created };
}

/** What only an interrupted start leaves: the SoftHSM config, an empty token folder, temporary files. */
function isStartLeftover(dir: string, name: string): boolean {
  if (name === "softhsm2.conf" || TMP_NAME.test(name)) return true;
  if (name !== "softhsm-tokens") return false;
  try {
    return fs.readdirSync(path.join(dir, name)).length === 0;
  } catch {
    return false;
  }
}

function removeQuietly(dir: string): void {
  try {
    fs.rmSync(path.join(dir, LOCK_FILE), { force: true });
    fs.rmdirSync(dir);
  } catch {
    // not ours to clean any more
  }
}

/** Locks an existing rehearsal folder for a resume and removes temporary files a killed run left. */
export function claimExistingFolder(dir: string, command: string): FolderLock {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new CustosError("REHEARSAL_RESUME", `${dir} does not exist.`, "Point --resume at the folder of an interrupted rehearsal.");
  }
  if (!st.isDirectory()) throw new CustosError("REHEARSAL_RESUME", `${dir} is not a folder.`, "Point --resume at the folder of an interrupted rehearsal.");
  const lock = FolderLock.acquire(dir, command);
  removeStaleTemps(dir);
  return lock;
}

/**
 * Undoes a start that failed before the ceremony could be resumed: the folder
 * was empty when claimed, so everything in it is this run's and goes, and the
 * folder too when this run made it. A rerun then finds it new again.
 */
export function abandonNewFolder(c: ClaimedFolder): void {
  for (const n of fs.readdirSync(c.dir)) if (!LOCK_NAMES.includes(n)) fs.rmSync(path.join(c.dir, n), { recursive: true, force: true });
  c.lock.release();
  if (!c.created) return;
  fs.rmSync(path.join(c.dir, LOCK_FILE), { force: true });
  try {
    fs.rmdirSync(c.dir);
  } catch {
    // another run has put something in it since: leave it to that run
  }
}
