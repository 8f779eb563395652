import type Database from 'better-sqlite3';
import { SchemaVersionError } from './errors.js';

/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
 * how many have run. Never edit a released migration: append a new one.
 */
/**
 * The event table's columns after `ordering`, as version 1 made them; version 2 rebuilds the table with
 * the same ones. Part of released migrations: never change it (a new migration alters the table).
 */
const EVENT_COLUMNS = `persistence_id  TEXT    NOT NULL,
    sequence_nr     INTEGER NOT NULL,
    writer_uuid     TEXT    NOT NULL,
    timestamp       INTEGER NOT NULL,
    serializer_id   TEXT    NOT NULL,
    manifest        TEXT    NOT NULL,
    payload         BLOB    NOT NULL, -- declared BLOB: no affinity, JSON text stays TEXT, bytes stay BLOB
    tags            TEXT,             -- JSON array, NULL when the event has none
    UNIQUE (persistence_id, sequence_nr)`;

const MIGRATIONS: readonly string[] = [
  // 1: events, per-stream metadata that survives deletion, snapshots.
  `
  -- ordering: one global, increasing position per event (rowid alias), for queries across streams.
  CREATE TABLE journal_event (
    ordering        INTEGER PRIMARY KEY,
    ${EVENT_COLUMNS}
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
  // 2: queries. Orderings are never handed out twice (AUTOINCREMENT: without it, deleting the newest
  // events would let the next insert reuse their orderings, and a reader that had seen them would skip
  // the new ones); a tag index for events by tag. The table is rebuilt once, its rows kept.
  `
  CREATE TABLE journal_event_v2 (
    ordering        INTEGER PRIMARY KEY AUTOINCREMENT,
    ${EVENT_COLUMNS}
  );
  INSERT INTO journal_event_v2 (ordering, persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags)
    SELECT ordering, persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags FROM journal_event;
  DROP TABLE journal_event;
  ALTER TABLE journal_event_v2 RENAME TO journal_event;
  CREATE TABLE journal_tag (
    tag       TEXT    NOT NULL,
    ordering  INTEGER NOT NULL,
    PRIMARY KEY (tag, ordering)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO journal_tag (tag, ordering)
    SELECT t.value, e.ordering FROM journal_event e, json_each(e.tags) t WHERE e.tags IS NOT NULL;
  `,
  // 3: projection offsets and the events projections skipped.
  `
  CREATE TABLE projection_offsets (
    projection    TEXT    PRIMARY KEY,
    offset_value  INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE projection_skipped (
    projection      TEXT    NOT NULL,
    offset_value    INTEGER NOT NULL,
    persistence_id  TEXT    NOT NULL,
    sequence_nr     INTEGER NOT NULL,
    error           TEXT    NOT NULL,
    at_ms           INTEGER NOT NULL,
    PRIMARY KEY (projection, offset_value)
  ) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** `PRAGMA auto_vacuum` value of INCREMENTAL. */
const INCREMENTAL = 2;

export function migrate(db: Database.Database, path: string): void {
  // Before the first table exists the setting takes effect at once; later it needs a VACUUM (below).
  if (db.pragma('auto_vacuum', { simple: true }) !== INCREMENTAL) db.pragma('auto_vacuum = INCREMENTAL');
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
  switchToIncrementalVacuum(db);
}

/**
 * Deleted events and snapshots leave free pages that a plain SQLite file never gives back: the file
 * only grows. With incremental auto-vacuum the pages can be returned in small steps (the checkpointer
 * does it, see checkpointer.ts). A database created before this needs one full VACUUM to switch; it
 * runs once, when such a file is first opened (it rewrites the file: seconds for a large one). Not a
 * schema version: an older steadfast reads the file as before, so no downgrade is blocked. Checked on
 * every open, so a crash during the VACUUM just means it runs again.
 */
function switchToIncrementalVacuum(db: Database.Database): void {
  if (db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  // The VACUUM went through the WAL: fold it back and give the WAL's space back too.
  if (db.pragma('journal_mode', { simple: true }) === 'wal') db.pragma('wal_checkpoint(TRUNCATE)');
}
