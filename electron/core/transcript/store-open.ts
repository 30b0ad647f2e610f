/**
 * Opening a transcript database: for writing (WAL, full sync, secure delete,
 * migrations applied) or as evidence (a private copy, read-only), each file
 * checked to be a Custos transcript this version can read.
 */
import fs, { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CustosError } from "../errors";
import { copyCapped, type Refuse } from "../files/evidence-bytes";
import { privateCopyDir } from "../files/private-copies";
import { CUSTOS_APPLICATION_ID, FIRST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION, MIGRATIONS } from "./migrations";

/** First 16 bytes of every SQLite 3 database file. */
export const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");

function readHeader(path: string): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(100);
    const n = readSync(fd, buf, 0, 100, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function unreadable(path: string, why: string, cause?: unknown): CustosError {
  return new CustosError(
    "TRANSCRIPT_UNREADABLE",
    `${path} cannot be opened as a Custos transcript: ${why}.`,
    "Check the path; a transcript is the transcript.sqlite file Custos wrote.",
    cause === undefined ? undefined : { cause },
  );
}

export function isSqliteError(e: unknown): e is Error & { code: string } {
  const code = e instanceof Error ? (e as unknown as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** Opens (creating if missing) a transcript for writing and applies pending migrations. */
export function openWritable(path: string): Database.Database {
  if (existsSync(path) && statSync(path).size > 0) {
    const header = readHeader(path);
    if (header.length < 16 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
      throw unreadable(path, "it is not a SQLite database");
    }
  }
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw unreadable(path, (cause as Error).message, cause);
  }
  try {
    // FULL: fsync on every commit, so a completed step survives a power cut (Invariant 7).
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (String(mode).toLowerCase() !== "wal") throw unreadable(path, `could not switch to WAL mode (got ${String(mode)})`);
    db.pragma("synchronous = FULL");
    // Deleted or overwritten pages are zeroed, so nothing lingers in free pages of the file.
    db.pragma("secure_delete = ON");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, path);
  } catch (e) {
    db.close();
    if (e instanceof CustosError) throw e;
    if (isSqliteError(e)) throw unreadable(path, e.message, e);
    throw e;
  }
  return db;
}

/** Largest evidence file Custos reads, and largest -wal beside a database (a transcript of thousands of entries is a few MiB). */
export const MAX_EVIDENCE_BYTES = 512 * 1024 * 1024;

/**
 * The -wal beside a database, when it is part of it (§4.1: a regular, non-empty
 * file); undefined when there is none. A -wal larger than MAX_EVIDENCE_BYTES
 * is refused by `refuse` before any byte of it is copied (a sparse -wal of
 * gigabytes beside a small transcript would otherwise be copied whole).
 */
export function evidenceWal(path: string, refuse: Refuse): string | undefined {
  // SQLite looks for the -wal beside the database's real path (it follows symbolic links), so this does too.
  let real: string;
  try {
    real = fs.realpathSync(path);
  } catch {
    real = path;
  }
  const wal = `${real}-wal`;
  const st = fs.statSync(wal, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size === 0) return undefined;
  if (st.size > MAX_EVIDENCE_BYTES) throw refuse(`its -wal file is larger than ${MAX_EVIDENCE_BYTES / 1024 / 1024} MiB.`);
  return wal;
}

/**
 * Copies a database and its -wal (when it is part of it) into `copy` and
 * `copy`-wal, each through one descriptor and capped (files/evidence-bytes.ts):
 * a -wal grown or swapped for a FIFO after the check is refused, not copied.
 */
export function copyDatabase(path: string, copy: string, refuse: Refuse, wal = evidenceWal(path, refuse)): void {
  copyCapped(path, copy, MAX_EVIDENCE_BYTES, refuse);
  if (wal) copyCapped(wal, `${copy}-wal`, MAX_EVIDENCE_BYTES, refuse, "its -wal file");
}

/**
 * Opens an existing transcript as evidence: the database and its -wal (when
 * there is one) are copied into a private temporary folder and the copy is
 * opened, so reading never changes a byte of the evidence nor creates a
 * -shm or -journal file beside it (§4.1). The caller removes `dir` at close.
 */
export function openEvidenceCopy(path: string): { db: Database.Database; dir: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (cause) {
    throw unreadable(path, "the file does not exist or cannot be read", cause);
  }
  if (!st.isFile()) throw unreadable(path, "it is not a regular file");
  if (st.size > MAX_EVIDENCE_BYTES) throw unreadable(path, `it is larger than ${MAX_EVIDENCE_BYTES / 1024 / 1024} MiB`);
  const header = readHeader(path);
  if (header.length < 16 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw unreadable(path, "it is not a SQLite database");
  }
  const refuse = (why: string) => unreadable(path, why.replace(/\.$/, ""));
  const wal = evidenceWal(path, refuse); // a -wal too large is refused before any folder is made
  const dir = privateCopyDir("evidence");
  const copy = join(dir, "transcript.sqlite");
  let db: Database.Database;
  try {
    copyDatabase(path, copy, refuse, wal);
    db = new Database(copy, { fileMustExist: true });
  } catch (cause) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (cause instanceof CustosError) throw cause;
    throw unreadable(path, (cause as Error).message, cause);
  }
  try {
    const version = Number(db.pragma("user_version", { simple: true }));
    const appId = Number(db.pragma("application_id", { simple: true }));
    if (version === 0 || appId !== CUSTOS_APPLICATION_ID) throw unreadable(path, "it is a SQLite database but not a Custos transcript");
    if (version > LATEST_SCHEMA_VERSION) throw tooNew(path, version);
    if (version < FIRST_SCHEMA_VERSION) throw preRelease(path, version);
    db.pragma("query_only = ON");
  } catch (e) {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (e instanceof CustosError) throw e;
    if (isSqliteError(e)) throw unreadable(path, e.message, e);
    throw e;
  }
  return { db, dir };
}

function tooNew(path: string, version: number): CustosError {
  return new CustosError(
    "TRANSCRIPT_TOO_NEW",
    `${path} was written by a newer Custos (schema ${version}; this version knows up to ${LATEST_SCHEMA_VERSION}).`,
    "Use the Custos version that wrote it, or a newer one. The file has not been changed.",
  );
}

function preRelease(path: string, version: number): CustosError {
  return new CustosError(
    "TRANSCRIPT_UNREADABLE",
    `${path} is a transcript of the unreleased format ${version}; this Custos reads format ${FIRST_SCHEMA_VERSION} to ${LATEST_SCHEMA_VERSION}.`,
    "Only development builds wrote that format; rehearse again with this version. The file has not been changed.",
  );
}

function migrate(db: Database.Database, path: string): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  if (version > LATEST_SCHEMA_VERSION) throw tooNew(path, version);
  if (version === 0) {
    const objects = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
    if (objects.n > 0) throw unreadable(path, "it is a SQLite database of some other program");
  } else if (Number(db.pragma("application_id", { simple: true })) !== CUSTOS_APPLICATION_ID) {
    throw unreadable(path, "it is a SQLite database of some other program");
  } else if (version < FIRST_SCHEMA_VERSION) {
    throw preRelease(path, version);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
