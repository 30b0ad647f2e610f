import fs from "node:fs";
import type Database from "better-sqlite3";
import { CustosError } from "../errors";
import { EXPECTED_COLUMNS, EXPECTED_SCHEMA_OBJECTS, EXPECTED_TABLE_SQL } from "./migrations";
import { prepareEntry, type PreparedEntry } from "./entry-check";
import { isSqliteError, openEvidenceCopy, openWritable } from "./store-open";
import { ABORT_ACTION, GENESIS_HASH, OPEN_ACTION, SEAL_ACTION, type CeremonyMeta, type CeremonyStatus, type EntryBody, type RawEntry, type Signature, type StoredEntry } from "./types";

export type { RawEntry } from "./types";
export { SQLITE_MAGIC } from "./store-open";

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

const CEREMONY_COLUMNS =
  "id, script_id, script_version, script_title, script_sha256, script_text, mode, status, created_at";
/** The entries columns in the order evidenceRows hands them over. */
export const ENTRY_EVIDENCE_COLUMNS = ["ceremony_id", "seq", "step_id", "action", "body_json", "body_hash", "signatures_json", "entry_hash"] as const;
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

/** The transcript database: one SQLite file per installation, each entry one durable transaction, hash-chained to the one before. */
export class TranscriptStore {
  // Prepared once per connection: preparing dominates the cost of small queries.
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private readonly db: Database.Database,
    /** Opened as evidence: no writes, no migrations. */
    readonly readOnly: boolean,
    /** The private copy an evidence store reads from, removed at close. */
    private readonly copyDir?: string,
  ) {}

  /** Opens (creating if missing) a transcript for writing and applies pending migrations. */
  static open(path: string): TranscriptStore {
    return new TranscriptStore(openWritable(path), false);
  }

  /**
   * Opens an existing transcript as evidence: the database and its -wal (when
   * there is one) are copied into a private temporary folder and the copy is
   * opened, so reading never changes a byte of the evidence nor creates a
   * -shm or -journal file beside it (§4.1). close() removes the copy.
   */
  static openReadOnly(path: string): TranscriptStore {
    const { db, dir } = openEvidenceCopy(path);
    return new TranscriptStore(db, true, dir);
  }

  /** §4.1 schema objects and columns; a description of the first difference, or undefined. */
  schemaProblem(): string | undefined {
    // §4.1: text is stored as UTF-8, so a value's stored bytes are what a verifier reads (CAST(x AS BLOB) included).
    const encoding = String(this.db.pragma("encoding", { simple: true }));
    if (encoding !== "UTF-8") return `the database's text encoding is ${encoding}; a transcript's is UTF-8.`;
    const objects = this.db.prepare("SELECT type, name, tbl_name AS tbl FROM sqlite_master ORDER BY type, name").all() as Array<{ type: string; name: string; tbl: string }>;
    const expected = EXPECTED_SCHEMA_OBJECTS.map(([t, n, tb]) => `${t} ${n} on ${tb}`);
    const actual = objects.map((o) => `${o.type} ${o.name} on ${o.tbl}`);
    const extra = actual.find((x) => !expected.includes(x));
    if (extra) return `the database holds an object a transcript never has (${extra}).`;
    const absent = expected.find((x) => !actual.includes(x));
    if (absent) return `the database lacks ${absent}.`;
    for (const [table, columns] of Object.entries(EXPECTED_COLUMNS)) {
      const info = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; type: string; notnull: number; pk: number }>;
      const got = info.map((c) => `${c.name} ${c.type} ${c.notnull} ${c.pk}`).join(", ");
      const want = columns.map((c) => c.join(" ")).join(", ");
      if (got !== want) return `the ${table} table does not have the columns of §4.1 (found: ${got}).`;
    }
    for (const [table, want] of Object.entries(EXPECTED_TABLE_SQL)) {
      const row = this.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { sql: unknown } | undefined;
      const got = typeof row?.sql === "string" ? row.sql.replace(/[ \t\n\r]+/g, " ").replace(/^ | $/g, "") : String(row?.sql);
      if (got !== want) return `the ${table} table is not declared as §4.1 says (found: ${got.slice(0, 300)}).`;
    }
    return undefined;
  }

  /**
   * Every ceremonies and entries row exactly as stored, in one pass each, with
   * SQLite's storage classes kept visible (integers as bigint, text as string,
   * blobs as Buffer, reals as number), for the verifier's checks of §4.1.
   * Entries rows go to `onEntry` one by one as they are read (as arrays in
   * ENTRY_EVIDENCE_COLUMNS order), so a caller keeps only what it needs and can
   * start work on each (the verifier's signature checks) while the rest is read.
   */
  evidenceRows(onEntry: (row: unknown[]) => void): { ceremonies: Array<Record<string, unknown>> } {
    const c = this.db.prepare(`SELECT ${CEREMONY_COLUMNS} FROM ceremonies ORDER BY created_at, id`).safeIntegers(true).all() as Array<Record<string, unknown>>;
    const rows = this.db
      .prepare(`SELECT ${ENTRY_EVIDENCE_COLUMNS.join(", ")} FROM entries ORDER BY ceremony_id, seq`)
      .safeIntegers(true)
      .raw(true)
      .iterate() as IterableIterator<unknown[]>;
    for (const row of rows) onEntry(row);
    return { ceremonies: c };
  }

  /**
   * §4.1: SQLite's own integrity check, or undefined when it says "ok". A
   * table and its primary-key index that disagree let readers that go through
   * the index (ORDER BY ceremony_id, seq) and readers that scan the table see
   * different rows; quick_check would not notice.
   */
  integrityProblem(): string | undefined {
    const rows = this.db.prepare("PRAGMA integrity_check").pluck().all() as unknown[];
    return rows.length === 1 && rows[0] === "ok" ? undefined : String(rows[0]);
  }

  /**
   * §4.1: the first stored text value whose bytes are not valid UTF-8, as
   * "table.column of row n", or undefined. Reads every text value as its
   * stored bytes, so the verifier asks only when a value it read holds U+FFFD
   * (SQLite's reader puts it where bytes are not UTF-8; a real U+FFFD is rare).
   */
  textNotUtf8(): string | undefined {
    const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const tables: Array<[string, string[]]> = [
      ["ceremonies", CEREMONY_COLUMNS.split(", ")],
      ["entries", ENTRY_EVIDENCE_COLUMNS.filter((c) => c !== "seq")],
    ];
    for (const [table, columns] of tables) {
      const rows = this.db.prepare(`SELECT ${columns.map((c) => `CAST(${c} AS BLOB)`).join(", ")} FROM ${table} ORDER BY rowid`).raw(true).iterate() as IterableIterator<unknown[]>;
      let n = 0;
      for (const row of rows) {
        n++;
        for (let k = 0; k < columns.length; k++) {
          const v = row[k];
          if (!(v instanceof Uint8Array)) continue;
          try {
            utf8.decode(v);
          } catch {
            return `${table}.${columns[k]} of row ${n}`;
          }
        }
      }
    }
    return undefined;
  }

  /** The ceremony rows exactly as stored (nothing assumed about their values). */
  rawCeremonies(): Array<Record<string, unknown>> {
    const rows = this.db.prepare(`SELECT ${CEREMONY_COLUMNS} FROM ceremonies ORDER BY created_at, id`).all() as CeremonyRow[];
    return rows.map((r) => rowToMeta(r) as unknown as Record<string, unknown>);
  }

  /**
   * Records a new ceremony: its header (§3) and its opening entry (§6.1) in
   * one transaction, so a header never exists without the signed chain that
   * supports it. The header's fields are taken from the opening entry.
   */
  createCeremony(meta: Omit<CeremonyMeta, "status" | "createdAt">, opening: EntryBody): StoredEntry {
    this.assertWritable();
    if (opening.action !== OPEN_ACTION || opening.seq !== 1 || opening.ceremonyId !== meta.id || opening.outputs.scriptSha256 !== meta.scriptSha256) {
      throw new CustosError("INTERNAL", "The opening entry does not match the ceremony it opens.", "This is a bug in the caller.");
    }
    const prepared = prepareEntry(opening, []);
    const insert = this.db.transaction((): void => {
      try {
        this.stmt(`INSERT INTO ceremonies (${CEREMONY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)`).run(
          meta.id,
          meta.scriptId,
          meta.scriptVersion,
          meta.scriptTitle,
          meta.scriptSha256,
          meta.scriptText,
          meta.mode,
          opening.timestamp,
        );
      } catch (e) {
        if (isSqliteError(e) && e.code.startsWith("SQLITE_CONSTRAINT_PRIMARYKEY")) {
          throw new CustosError("CEREMONY_EXISTS", `A ceremony with id ${meta.id} already exists in this transcript.`, "Each ceremony needs a new id.");
        }
        throw e;
      }
      this.insertEntry(prepared);
    });
    insert.immediate();
    return prepared.stored;
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

  /**
   * Appends one entry in one durable transaction; refuses a broken chain
   * (TRANSCRIPT_CHAIN), bad signatures or a missing required signer. The seal
   * and an abort set the header's status in the same transaction (§3).
   */
  appendEntry(body: EntryBody, signatures: Signature[]): StoredEntry {
    this.assertWritable();
    const prepared = prepareEntry(body, signatures);
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
      this.insertEntry(prepared);
      const status: CeremonyStatus | undefined = body.action === SEAL_ACTION ? "closed" : body.action === ABORT_ACTION ? "aborted" : undefined;
      if (status) this.stmt("UPDATE ceremonies SET status = ? WHERE id = ?").run(status, body.ceremonyId);
    });
    // IMMEDIATE: take the write lock before reading the head, so two writers cannot both extend it.
    append.immediate();
    return prepared.stored;
  }

  private insertEntry(p: PreparedEntry): void {
    const { body, bodyJson, bodyHash, entryHash } = p.stored;
    this.stmt(
      "INSERT INTO entries (ceremony_id, seq, step_id, action, body_json, body_hash, signatures_json, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(body.ceremonyId, body.seq, body.stepId, body.action, bodyJson, bodyHash, p.signaturesJson, entryHash);
  }

  /** Entries of a ceremony in seq order, parsed; throws TRANSCRIPT_CORRUPT on a row that does not parse (verify uses rawEntries). */
  entries(ceremonyId: string): StoredEntry[] {
    return this.rawEntries(ceremonyId).map((row) => {
      try {
        return {
          body: JSON.parse(String(row.bodyJson)) as EntryBody,
          bodyJson: String(row.bodyJson),
          bodyHash: String(row.bodyHash),
          signatures: JSON.parse(String(row.signaturesJson)) as Signature[],
          entryHash: String(row.entryHash),
        };
      } catch (cause) {
        throw new CustosError(
          "TRANSCRIPT_CORRUPT",
          `Entry ${String(row.seq)} (step '${String(row.stepId)}') of ceremony ${ceremonyId} cannot be read.`,
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
    if (this.copyDir) fs.rmSync(this.copyDir, { recursive: true, force: true });
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
