import type Database from 'better-sqlite3';
import { SchemaVersionError } from './errors.js';

/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
 * how many have run. Never edit a released migration: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: events, per-stream metadata that survives deletion, snapshots.
  `
  -- ordering: one global, increasing position per event (rowid alias), for queries across streams.
  CREATE TABLE journal_event (
    ordering        INTEGER PRIMARY KEY,
    persistence_id  TEXT    NOT NULL,
    sequence_nr     INTEGER NOT NULL,
    writer_uuid     TEXT    NOT NULL,
    timestamp       INTEGER NOT NULL,
    serializer_id   TEXT    NOT NULL,
    manifest        TEXT    NOT NULL,
    payload         BLOB    NOT NULL, -- declared BLOB: no affinity, JSON text stays TEXT, bytes stay BLOB
    tags            TEXT,             -- JSON array, NULL when the event has none
    UNIQUE (persistence_id, sequence_nr)
  );
  -- Written when events are deleted, so the highest sequence number outlives its rows.
  CREATE TABLE journal_metadata (
    persistence_id       TEXT    PRIMARY KEY,
    highest_sequence_nr  INTEGER NOT NULL,
    deleted_to           INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE snapshot (
    persistence_id  TEXT    NOT NULL,
    sequence_nr     INTEGER NOT NULL,
    timestamp       INTEGER NOT NULL,
    serializer_id   TEXT    NOT NULL,
    manifest        TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    PRIMARY KEY (persistence_id, sequence_nr)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database, path: string): void {
  // IMMEDIATE: takes the write lock before reading the version, so two openers cannot both migrate.
  db.prepare('BEGIN IMMEDIATE').run();
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) throw new SchemaVersionError(path, current, SCHEMA_VERSION);
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.prepare('COMMIT').run();
  } catch (error) {
    if (db.inTransaction) db.prepare('ROLLBACK').run();
    throw error;
  }
}
