// PRAGMA user_version holds the schema version (docs/transcript-format.md §4.1). Never edit a
// released schema step: add one. Whatever a later step does, the verifier must keep reading every
// earlier released transcript, because auditors verify old files. Version 1 was never released.

/** One numbered schema step, applied in its own transaction. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** "CSTS": marks a SQLite file as a Custos transcript (PRAGMA application_id). */
export const CUSTOS_APPLICATION_ID = 0x43535453;

/** The first released schema: §4.1. */
export const FIRST_SCHEMA_VERSION = 2;

/** All schema steps from FIRST_SCHEMA_VERSION on, contiguous. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    description: "ceremonies and hash-chained entries (transcript format 2)",
    sql: `
      PRAGMA application_id = ${CUSTOS_APPLICATION_ID};
      CREATE TABLE ceremonies (
        id             TEXT NOT NULL PRIMARY KEY,
        script_id      TEXT NOT NULL,
        script_version TEXT NOT NULL,
        script_title   TEXT NOT NULL,
        script_sha256  TEXT NOT NULL,
        script_text    TEXT NOT NULL,
        mode           TEXT NOT NULL,
        status         TEXT NOT NULL,
        created_at     TEXT NOT NULL
      );
      CREATE TABLE entries (
        ceremony_id     TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        step_id         TEXT NOT NULL,
        action          TEXT NOT NULL,
        body_json       TEXT NOT NULL,
        body_hash       TEXT NOT NULL,
        signatures_json TEXT NOT NULL,
        entry_hash      TEXT NOT NULL,
        PRIMARY KEY (ceremony_id, seq)
      );
    `,
  },
];

/** The schema version this code writes and reads. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** §4.1: the only objects a transcript database may hold (type, name, tbl_name). */
export const EXPECTED_SCHEMA_OBJECTS: ReadonlyArray<[string, string, string]> = [
  ["index", "sqlite_autoindex_ceremonies_1", "ceremonies"],
  ["index", "sqlite_autoindex_entries_1", "entries"],
  ["table", "ceremonies", "ceremonies"],
  ["table", "entries", "entries"],
];

/**
 * §4.1: each table's CREATE statement as sqlite_master keeps it, every run of
 * whitespace made one space. PRAGMA table_info does not show a column's
 * collation, DEFAULT, CHECK or GENERATED clause, nor WITHOUT ROWID or STRICT:
 * a table re-declared with any of them (a COLLATE NOCASE ceremony_id changes
 * how rows sort and compare) has another statement.
 */
export const EXPECTED_TABLE_SQL: Readonly<Record<string, string>> = {
  ceremonies:
    "CREATE TABLE ceremonies ( id TEXT NOT NULL PRIMARY KEY, script_id TEXT NOT NULL, script_version TEXT NOT NULL, script_title TEXT NOT NULL, script_sha256 TEXT NOT NULL, script_text TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL )",
  entries:
    "CREATE TABLE entries ( ceremony_id TEXT NOT NULL, seq INTEGER NOT NULL, step_id TEXT NOT NULL, action TEXT NOT NULL, body_json TEXT NOT NULL, body_hash TEXT NOT NULL, signatures_json TEXT NOT NULL, entry_hash TEXT NOT NULL, PRIMARY KEY (ceremony_id, seq) )",
};

/** §4.1: columns as PRAGMA table_info reports them: name, declared type, NOT NULL, pk position. */
export const EXPECTED_COLUMNS: Readonly<Record<string, ReadonlyArray<[string, string, number, number]>>> = {
  ceremonies: [
    ["id", "TEXT", 1, 1],
    ["script_id", "TEXT", 1, 0],
    ["script_version", "TEXT", 1, 0],
    ["script_title", "TEXT", 1, 0],
    ["script_sha256", "TEXT", 1, 0],
    ["script_text", "TEXT", 1, 0],
    ["mode", "TEXT", 1, 0],
    ["status", "TEXT", 1, 0],
    ["created_at", "TEXT", 1, 0],
  ],
  entries: [
    ["ceremony_id", "TEXT", 1, 1],
    ["seq", "INTEGER", 1, 2],
    ["step_id", "TEXT", 1, 0],
    ["action", "TEXT", 1, 0],
    ["body_json", "TEXT", 1, 0],
    ["body_hash", "TEXT", 1, 0],
    ["signatures_json", "TEXT", 1, 0],
    ["entry_hash", "TEXT", 1, 0],
  ],
};
