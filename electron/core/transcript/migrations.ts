// PRAGMA user_version holds the number of the last migration applied. Never edit a
// released migration: add one. Whatever a migration does, rawEntries() and verify must
// keep reading every earlier transcript, because auditors verify old files.

/** One numbered schema step, applied in its own transaction. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** "CSTS": marks a SQLite file as a Custos transcript (PRAGMA application_id). */
export const CUSTOS_APPLICATION_ID = 0x43535453;

/** All migrations, version 1..n, contiguous. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "ceremonies and hash-chained entries",
    sql: `
      PRAGMA application_id = ${CUSTOS_APPLICATION_ID};
      CREATE TABLE ceremonies (
        id             TEXT PRIMARY KEY NOT NULL,
        script_id      TEXT NOT NULL,
        script_version TEXT NOT NULL,
        script_title   TEXT NOT NULL,
        script_sha256  TEXT NOT NULL,
        script_text    TEXT NOT NULL,
        mode           TEXT NOT NULL CHECK (mode IN ('rehearsal', 'production')),
        status         TEXT NOT NULL CHECK (status IN ('open', 'closed', 'failed', 'abandoned')),
        created_at     TEXT NOT NULL
      );
      CREATE TABLE entries (
        ceremony_id     TEXT NOT NULL REFERENCES ceremonies(id),
        seq             INTEGER NOT NULL CHECK (seq >= 1),
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
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;
