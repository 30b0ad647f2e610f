import { CustosError } from "../errors";
import { TMP_SUFFIX } from "./atomic";

/**
 * The one error boundary: file-system and SQLite failures become messages
 * that say what happened, what is intact and what to do, for the CLI and the
 * app alike. No stack trace ever reaches a person; callers log the original
 * (`cause`) where they have a log.
 */

/** What the caller was doing and what stays safe if it fails; appended to the message. */
export interface FaultContext {
  /** e.g. "writing /tmp/r1/report.pdf" */
  doing?: string;
  /** e.g. "Every step recorded so far is kept in transcript.sqlite." */
  intact?: string;
  /** e.g. "Free some space, then run `custos rehearse --resume /tmp/r1`." */
  next?: string;
}

interface Explained {
  code: string;
  what: string;
  todo: string;
}

const ERRNO: Record<string, Explained> = {
  ENOSPC: { code: "DISK_FULL", what: "the disk is full", todo: "Free some space (or choose another disk)" },
  EDQUOT: { code: "DISK_FULL", what: "the disk quota is used up", todo: "Free some space (or choose another disk)" },
  EROFS: { code: "READ_ONLY", what: "the file system is read-only", todo: "Choose a writable folder (or remount the disk read-write)" },
  EACCES: { code: "NO_PERMISSION", what: "permission denied", todo: "Check the folder's owner and permissions, or choose another folder" },
  EPERM: { code: "NO_PERMISSION", what: "the operation is not permitted", todo: "Check the folder's owner and permissions, or choose another folder" },
  EISDIR: { code: "IS_A_FOLDER", what: "it is a folder, not a file", todo: "Give the path of a file" },
  ENOTDIR: { code: "NOT_A_FOLDER", what: "a part of the path is not a folder", todo: "Check the path" },
  ENOENT: { code: "NOT_FOUND", what: "no such file or folder", todo: "Check the path" },
  EEXIST: { code: "OUTPUT_EXISTS", what: "the file already exists", todo: "Choose a new name" },
  EIO: { code: "IO_ERROR", what: "the disk reported an input/output error", todo: "Check the disk (dmesg: a removed or failing medium)" },
  ENXIO: { code: "IO_ERROR", what: "the device is gone", todo: "Reconnect the disk" },
  ELOOP: { code: "BAD_PATH", what: "the path has too many symbolic links", todo: "Check the path" },
  ENAMETOOLONG: { code: "BAD_PATH", what: "the path is too long", todo: "Choose a shorter path" },
  EMFILE: { code: "TOO_MANY_FILES", what: "too many files are open", todo: "Close other programs" },
  ENFILE: { code: "TOO_MANY_FILES", what: "too many files are open", todo: "Close other programs" },
  EBUSY: { code: "BUSY", what: "the file is busy", todo: "Wait for the other program to finish with it" },
  EAGAIN: { code: "BUSY", what: "the file is busy", todo: "Wait a moment" },
  ETXTBSY: { code: "BUSY", what: "the file is busy", todo: "Wait a moment" },
  EXDEV: { code: "BAD_PATH", what: "the file would cross file systems", todo: "Choose a folder on the same disk" },
};

/** SQLite result codes, by prefix (extended codes such as SQLITE_IOERR_FSYNC share their primary's meaning). */
const SQLITE: Array<[string, Explained]> = [
  ["SQLITE_FULL", { code: "DISK_FULL", what: "the disk is full", todo: "Free some space" }],
  ["SQLITE_READONLY", { code: "READ_ONLY", what: "the database cannot be written (read-only file or folder)", todo: "Check the folder is writable" }],
  ["SQLITE_BUSY", { code: "FOLDER_LOCKED", what: "another process is writing the database", todo: "Wait for it to finish" }],
  ["SQLITE_LOCKED", { code: "FOLDER_LOCKED", what: "the database is locked", todo: "Wait for the other process to finish" }],
  ["SQLITE_CORRUPT", { code: "TRANSCRIPT_UNREADABLE", what: "the database file is damaged", todo: "Run `custos verify` on it and keep the file as it is" }],
  ["SQLITE_NOTADB", { code: "TRANSCRIPT_UNREADABLE", what: "the file is not a database", todo: "Check the path" }],
  ["SQLITE_CANTOPEN", { code: "TRANSCRIPT_UNREADABLE", what: "the database file cannot be opened", todo: "Check the path and permissions" }],
  ["SQLITE_PERM", { code: "NO_PERMISSION", what: "permission denied", todo: "Check the file's permissions" }],
  ["SQLITE_IOERR", { code: "IO_ERROR", what: "the disk reported an input/output error", todo: "Check the disk (dmesg: a removed or failing medium)" }],
  ["SQLITE_NOMEM", { code: "OUT_OF_MEMORY", what: "out of memory", todo: "Close other programs" }],
];

function explain(e: unknown): (Explained & { path?: string; raw: string }) | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== "string") return undefined;
  const errno = ERRNO[code];
  if (errno) return { ...errno, path: (e as NodeJS.ErrnoException).path, raw: code };
  const sq = SQLITE.find(([prefix]) => code.startsWith(prefix));
  if (sq) {
    // SQLITE_IOERR_* hides ENOSPC behind "disk I/O error" when a write comes up short.
    return { ...sq[1], raw: code };
  }
  return undefined;
}

/** The first file-system or SQLite error in e's cause chain, explained; undefined if there is none. */
export function explainFault(e: unknown): (Explained & { path?: string; raw: string }) | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    const x = explain(cur);
    if (x) return x;
  }
  return undefined;
}

/**
 * Turns any error into a CustosError a person can act on. A CustosError that
 * wraps a file-system or SQLite error (for example a failed step) keeps its
 * message and gains the plain explanation; anything unknown becomes INTERNAL
 * with its one-line message only.
 */
export function toCustosError(e: unknown, ctx: FaultContext = {}): CustosError {
  const x = explainFault(e);
  const intact = ctx.intact ? ` ${ctx.intact}` : "";
  if (e instanceof CustosError) {
    // Already explained (details.errno), or not a fault at all: as it is.
    if (!x || e.details.errno !== undefined || e.code === "FOLDER_LOCKED" || e.code === "OUTPUT_EXISTS") return e;
    const said = e.message.replace(/\.$/, "");
    const what = said.includes(x.what) ? "" : said.endsWith(" failed") ? `: ${x.what}` : ` (${x.what})`;
    return new CustosError(x.code, `${said}${what}.${intact}`, hintOf(x, ctx), {
      cause: e,
      details: { ...e.details, errno: x.raw },
    });
  }
  if (x) {
    const where = ctx.doing ?? (x.path ? `using ${x.path}` : "");
    // A temporary file's name means nothing to a person: the target is in `doing`.
    const shownPath = x.path && !x.path.endsWith(TMP_SUFFIX) && !where.includes(x.path) ? ` (${x.path})` : "";
    const message = `${where ? `${cap(where)} failed: ` : ""}${x.what}${shownPath}.${intact}`;
    return new CustosError(x.code, message, hintOf(x, ctx), { cause: e, details: { errno: x.raw } });
  }
  const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 300);
  return new CustosError("INTERNAL", `${ctx.doing ? `${cap(ctx.doing)} failed: ` : ""}${msg}.${intact}`, ctx.next ?? "This is a fault in Custos; please report it with the command you ran.", { cause: e });
}

/** "Free some space, then run `custos rehearse --resume DIR`." */
function hintOf(x: Explained, ctx: FaultContext): string {
  const next = ctx.next ? lower(ctx.next).replace(/\.$/, "") : "try again";
  return `${x.todo}, then ${next}.`;
}

/**
 * Names what was being done when something below failed, for the boundary to
 * explain later ("Copying the SoftHSM token after step 6 failed: the disk is
 * full. …"); a CustosError passes unchanged.
 */
export function whileDoing(doing: string, e: unknown): unknown {
  return e instanceof CustosError ? e : new CustosError("FAILED", `${cap(doing)} failed`, "", { cause: e });
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
