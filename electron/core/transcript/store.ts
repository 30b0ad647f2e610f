import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { CustosError } from "../errors";
import { canonicalJson } from "./canonical";
import { attestationMessage, bodyHash as computeBodyHash, entryHash as computeEntryHash, sortSignatures, verifySignature } from "./chain";
import { CUSTOS_APPLICATION_ID, LATEST_SCHEMA_VERSION, MIGRATIONS } from "./migrations";
import { entryBodySchema, firstIssue, signatureSchema } from "./schema";
import { GENESIS_HASH, type CeremonyMeta, type CeremonyStatus, type EntryBody, type RawEntry, type Signature, type StoredEntry } from "./types";

export type { RawEntry } from "./types";

interface CeremonyRow {
  id: string;
  script_id: string;
  script_version: string;
  script_title: string;
  script_sha256: string;
  script_text: string;
  mode: CeremonyMeta["mode"];
  status: CeremonyStatus;
  created_at: string;
}

/** First 16 bytes of every SQLite 3 database file. */
export const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");

const CEREMONY_COLUMNS =
  "id, script_id, script_version, script_title, script_sha256, script_text, mode, status, created_at";
const RAW_COLUMNS =
  "seq, step_id AS stepId, action, body_json AS bodyJson, body_hash AS bodyHash, signatures_json AS signaturesJson, entry_hash AS entryHash";

function rowToMeta(row: CeremonyRow): CeremonyMeta {
  return {
    id: row.id,
    scriptId: row.script_id,
    scriptVersion: row.script_version,
    scriptTitle: row.script_title,
    scriptSha256: row.script_sha256,
    scriptText: row.script_text,
    mode: row.mode,
    status: row.status,
    createdAt: row.created_at,
  };
}

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

function isSqliteError(e: unknown): e is Error & { code: string } {
  const code = e instanceof Error ? (e as unknown as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** The transcript database: one SQLite file per installation, each entry one durable transaction, hash-chained to the one before. */
export class TranscriptStore {
  // Prepared once per connection: preparing dominates the cost of small queries.
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private readonly db: Database.Database,
    /** Opened for `custos verify`: no writes, no migrations. */
    readonly readOnly: boolean,
  ) {}

  /** Opens (creating if missing) a transcript for writing and applies pending migrations. */
  static open(path: string): TranscriptStore {
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
    return new TranscriptStore(db, false);
  }

  /** Opens an existing transcript for verification without changing it or leaving -wal/-shm files next to the evidence. */
  static openReadOnly(path: string): TranscriptStore {
    // A cleanly closed WAL database lives entirely in the main file, so it is read into memory and
    // opened from there. If a -wal file with content exists (the app is running, or crashed), SQLite
    // must read it, so the file is opened read-only in place.
    if (!existsSync(path)) throw unreadable(path, "the file does not exist");
    const header = readHeader(path);
    if (header.length < 16 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
      throw unreadable(path, "it is not a SQLite database");
    }
    const wal = `${path}-wal`;
    let db: Database.Database;
    try {
      if (existsSync(wal) && statSync(wal).size > 0) {
        db = new Database(path, { readonly: true, fileMustExist: true });
      } else {
        const image = readFileSync(path);
        // Header bytes 18-19 say "WAL"; an in-memory image cannot use WAL, so mark it rollback-journal (our copy only).
        if (image.length > 19) {
          image[18] = 1;
          image[19] = 1;
        }
        db = new Database(image, { readonly: true });
      }
    } catch (cause) {
      throw unreadable(path, (cause as Error).message, cause);
    }
    try {
      const version = Number(db.pragma("user_version", { simple: true }));
      const appId = Number(db.pragma("application_id", { simple: true }));
      if (version === 0 || appId !== CUSTOS_APPLICATION_ID) throw unreadable(path, "it is a SQLite database but not a Custos transcript");
      if (version > LATEST_SCHEMA_VERSION) throw tooNew(path, version);
      // TODO(schema v2+): read older schema versions here without migrating the file.
      if (version < LATEST_SCHEMA_VERSION) throw unreadable(path, `its schema version ${version} is older than this Custos reads`);
    } catch (e) {
      db.close();
      if (e instanceof CustosError) throw e;
      if (isSqliteError(e)) throw unreadable(path, e.message, e);
      throw e;
    }
    return new TranscriptStore(db, true);
  }

  /** Records a new ceremony with status "open". */
  createCeremony(meta: Omit<CeremonyMeta, "status">): void {
    this.assertWritable();
    try {
      this.stmt(`INSERT INTO ceremonies (${CEREMONY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)`).run(meta.id, meta.scriptId, meta.scriptVersion, meta.scriptTitle, meta.scriptSha256, meta.scriptText, meta.mode, meta.createdAt);
    } catch (e) {
      if (isSqliteError(e) && e.code.startsWith("SQLITE_CONSTRAINT_PRIMARYKEY")) {
        throw new CustosError("CEREMONY_EXISTS", `A ceremony with id ${meta.id} already exists in this transcript.`, "Each ceremony needs a new id.");
      }
      throw e;
    }
  }

  /** The ceremony row, or undefined. */
  getCeremony(id: string): CeremonyMeta | undefined {
    const row = this.stmt(`SELECT ${CEREMONY_COLUMNS} FROM ceremonies WHERE id = ?`).get(id) as CeremonyRow | undefined;
    return row && rowToMeta(row);
  }

  /** All ceremonies, oldest first. */
  listCeremonies(): CeremonyMeta[] {
    const rows = this.stmt(`SELECT ${CEREMONY_COLUMNS} FROM ceremonies ORDER BY created_at, id`).all() as CeremonyRow[];
    return rows.map(rowToMeta);
  }

  /** Changes a ceremony's status (not hash-chained: the seal entry is what proves completion). */
  setStatus(id: string, status: CeremonyStatus): void {
    this.assertWritable();
    const result = this.stmt("UPDATE ceremonies SET status = ? WHERE id = ?").run(status, id);
    if (result.changes !== 1) throw noCeremony(id);
  }

  /** Appends one entry in one durable transaction; refuses a broken chain (TRANSCRIPT_CHAIN), bad signatures or a missing required signer. */
  appendEntry(body: EntryBody, signatures: Signature[]): StoredEntry {
    this.assertWritable();
    const parsedBody = entryBodySchema.safeParse(body);
    if (!parsedBody.success) {
      throw new CustosError("TRANSCRIPT_ENTRY_INVALID", `The entry body is malformed at ${firstIssue(parsedBody.error)}.`, "This is a bug in the caller, not in the ceremony.");
    }
    for (const [i, sig] of signatures.entries()) {
      const parsed = signatureSchema.safeParse(sig);
      if (!parsed.success) {
        throw new CustosError("TRANSCRIPT_ENTRY_INVALID", `Signature ${i} is malformed at ${firstIssue(parsed.error)}.`, "This is a bug in the caller, not in the ceremony.");
      }
    }
    const bodyJson = canonicalJson(body);
    const hash = computeBodyHash(body);
    const message = attestationMessage(hash);
    const sorted = sortSignatures(signatures);
    const seen = new Set<string>();
    for (const sig of sorted) {
      const key = `${sig.kind}\u0000${sig.signer}`;
      if (seen.has(key)) {
        throw new CustosError("TRANSCRIPT_SIGNATURE", `Step '${body.stepId}' carries two ${sig.kind} signatures from ${sig.signer}.`, "");
      }
      seen.add(key);
      if (!verifySignature(sig, message)) {
        throw new CustosError(
          "TRANSCRIPT_SIGNATURE",
          `The ${sig.kind} signature of ${sig.signer} on step '${body.stepId}' does not verify.`,
          "The attestation was made over a different entry or with a different key; attest the step again.",
        );
      }
    }
    for (const required of body.requiredSigners) {
      if (!sorted.some((s) => s.kind === "participant" && s.signer === required)) {
        throw new CustosError("TRANSCRIPT_SIGNATURE", `Step '${body.stepId}' needs the attestation of ${required}, which is missing.`, "Ask that participant to attest the step.");
      }
    }
    const signaturesJson = canonicalJson(sorted);
    const hashOfEntry = computeEntryHash(hash, sorted);

    const append = this.db.transaction((): void => {
      const ceremony = this.stmt("SELECT status FROM ceremonies WHERE id = ?").get(body.ceremonyId) as { status: CeremonyStatus } | undefined;
      if (!ceremony) throw noCeremony(body.ceremonyId);
      if (ceremony.status !== "open") {
        throw new CustosError("TRANSCRIPT_NOT_OPEN", `Ceremony ${body.ceremonyId} is ${ceremony.status}; nothing more can be recorded in it.`, "");
      }
      const last = this.head(body.ceremonyId);
      const expectedSeq = last ? last.seq + 1 : 1;
      const expectedPrev = last ? last.entryHash : GENESIS_HASH;
      if (body.seq !== expectedSeq || body.prevHash !== expectedPrev) {
        throw new CustosError(
          "TRANSCRIPT_CHAIN",
          body.seq !== expectedSeq
            ? `Entry for step '${body.stepId}' has sequence number ${body.seq}, but the next entry of ceremony ${body.ceremonyId} is ${expectedSeq}.`
            : `Entry ${body.seq} for step '${body.stepId}' does not point at the previous entry's hash.`,
          "Another process may have written to this transcript; reload the ceremony and resume.",
        );
      }
      this.stmt(
        "INSERT INTO entries (ceremony_id, seq, step_id, action, body_json, body_hash, signatures_json, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(body.ceremonyId, body.seq, body.stepId, body.action, bodyJson, hash, signaturesJson, hashOfEntry);
    });
    // IMMEDIATE: take the write lock before reading the head, so two writers cannot both extend it.
    append.immediate();
    return { body: JSON.parse(bodyJson) as EntryBody, bodyJson, bodyHash: hash, signatures: sorted, entryHash: hashOfEntry };
  }

  /** Entries of a ceremony in seq order, parsed; throws TRANSCRIPT_CORRUPT on a row that does not parse (verify uses rawEntries). */
  entries(ceremonyId: string): StoredEntry[] {
    return this.rawEntries(ceremonyId).map((row) => {
      try {
        return {
          body: JSON.parse(row.bodyJson) as EntryBody,
          bodyJson: row.bodyJson,
          bodyHash: row.bodyHash,
          signatures: JSON.parse(row.signaturesJson) as Signature[],
          entryHash: row.entryHash,
        };
      } catch (cause) {
        throw new CustosError(
          "TRANSCRIPT_CORRUPT",
          `Entry ${row.seq} (step '${row.stepId}') of ceremony ${ceremonyId} cannot be read.`,
          "Run `custos verify` on the transcript to see what is damaged.",
          { cause },
        );
      }
    });
  }

  /** The stored columns of a ceremony's entries in seq order, unparsed. */
  rawEntries(ceremonyId: string): RawEntry[] {
    return this.stmt(`SELECT ${RAW_COLUMNS} FROM entries WHERE ceremony_id = ? ORDER BY seq`).all(ceremonyId) as RawEntry[];
  }

  /** Ceremony ids that have entries but no ceremony row (only possible if the file was edited). */
  orphanCeremonyIds(): string[] {
    const rows = this.stmt(
      "SELECT DISTINCT ceremony_id AS id FROM entries WHERE ceremony_id NOT IN (SELECT id FROM ceremonies) ORDER BY ceremony_id",
    ).all() as Array<{ id: unknown }>;
    return rows.map((r) => String(r.id));
  }

  /** Sequence number and hash of the last entry, or null before the first. */
  head(ceremonyId: string): { seq: number; entryHash: string } | null {
    const row = this.stmt("SELECT seq, entry_hash AS entryHash FROM entries WHERE ceremony_id = ? ORDER BY seq DESC LIMIT 1").get(ceremonyId) as
      | { seq: number; entryHash: string }
      | undefined;
    return row ?? null;
  }

  /** Closes the database (checkpointing the WAL). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new CustosError("INTERNAL", "This transcript was opened read-only for verification.");
  }
}

function noCeremony(id: string): CustosError {
  return new CustosError("CEREMONY_NOT_FOUND", `There is no ceremony ${id} in this transcript.`, "Check the ceremony id.");
}

function tooNew(path: string, version: number): CustosError {
  return new CustosError(
    "TRANSCRIPT_TOO_NEW",
    `${path} was written by a newer Custos (schema ${version}; this version knows up to ${LATEST_SCHEMA_VERSION}).`,
    "Use the Custos version that wrote it, or a newer one. The file has not been changed.",
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
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
