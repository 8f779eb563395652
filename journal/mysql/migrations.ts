import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SchemaBehindError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { openConnection } from './pool.js';
import { namedLock, quoteIdent } from './sql-names.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /**
   * Statements for the database given as a quoted identifier. DDL commits on its own in MySQL and
   * MariaDB (there is no transactional DDL), so every statement must be safe to run again: a migration
   * cut off halfway is completed by the next run.
   */
  statements(database: string): readonly string[];
}

// Ids, tags and names are compared byte for byte: VARBINARY keys (a _bin collation on VARCHAR still
// pads with spaces in MariaDB, so "a" and "a " would be one persistence id; VARBINARY never pads), and
// utf8mb4_bin for text that is never a key.
const TEXT = 'character set utf8mb4 collate utf8mb4_bin';

/**
 * The ordered, append-only list of schema changes. Never edit an applied entry: add a new version.
 * See README.md for what each table is for.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'journal',
    statements: (d) => [
      // ordering has no default and no AUTO_INCREMENT: the ordering lock's holder draws it (ordering-lock.ts).
      `create table if not exists ${d}.journal (
        ordering bigint not null,
        persistence_id varbinary(512) not null,
        sequence_nr bigint not null,
        writer_uuid varchar(255) ${TEXT} not null,
        timestamp_ms bigint not null,
        serializer_id varchar(255) ${TEXT} not null,
        manifest varchar(1024) ${TEXT} not null,
        payload_json longtext ${TEXT} null,
        payload_bytes longblob null,
        tags text ${TEXT} null,
        primary key (persistence_id, sequence_nr),
        unique key journal_ordering_uq (ordering),
        constraint journal_sequence_nr_positive check (sequence_nr > 0)
      ) engine = InnoDB`,
      // One row: the ordering floor, raised by deletions (first written as the counter every flush
      // updated; now writers only read it when they take the ordering lock, README "Global ordering").
      `create table if not exists ${d}.journal_sequence (
        id tinyint not null primary key,
        last_ordering bigint not null
      ) engine = InnoDB`,
      `insert ignore into ${d}.journal_sequence (id, last_ordering) values (1, 0)`,
      `create table if not exists ${d}.event_tags (
        tag varbinary(255) not null,
        ordering bigint not null,
        primary key (tag, ordering),
        key event_tags_ordering (ordering)
      ) engine = InnoDB`,
      `create table if not exists ${d}.journal_metadata (
        persistence_id varbinary(512) not null primary key,
        highest_sequence_nr bigint not null
      ) engine = InnoDB`,
    ],
  },
  {
    version: 2,
    name: 'snapshots',
    statements: (d) => [
      `create table if not exists ${d}.snapshots (
        persistence_id varbinary(512) not null,
        sequence_nr bigint not null,
        timestamp_ms bigint not null,
        serializer_id varchar(255) ${TEXT} not null,
        manifest varchar(1024) ${TEXT} not null,
        payload_json longtext ${TEXT} null,
        payload_bytes longblob null,
        primary key (persistence_id, sequence_nr)
      ) engine = InnoDB`,
    ],
  },
  {
    version: 3,
    name: 'projection offsets',
    statements: (d) => [
      `create table if not exists ${d}.projection_offsets (
        projection varbinary(1024) not null primary key,
        offset_value bigint not null,
        updated_at timestamp(3) not null default current_timestamp(3)
      ) engine = InnoDB`,
      `create table if not exists ${d}.projection_skipped (
        projection varbinary(1024) not null,
        offset_value bigint not null,
        persistence_id varbinary(512) not null,
        sequence_nr bigint not null,
        error text ${TEXT} not null,
        at_ms bigint not null,
        primary key (projection, offset_value)
      ) engine = InnoDB`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface MigrationResult {
  readonly database: string;
  readonly applied: readonly number[];
  readonly version: number;
}

/** How long a start waits for another process's migration before it gives up. */
const MIGRATION_LOCK_WAIT_S = 120;

/**
 * Applies every pending migration under a named lock, so a second process starting at the same moment
 * waits, then sees the versions the first one recorded and applies nothing. A version is recorded after
 * all its statements ran; each statement is idempotent, so a crash in between is repaired by rerunning.
 */
export async function applyMigrations(options: ResolvedOptions): Promise<MigrationResult> {
  const d = quoteIdent(options.database);
  return withConnection(options, async (connection) => {
    const [locked] = await connection.query<RowDataPacket[]>('select get_lock(?, ?) as locked', [namedLock('migrate', options.database), MIGRATION_LOCK_WAIT_S]);
    if (locked[0]?.locked !== 1) throw new Error(`steadfast/mysql: another process held the migration lock of "${options.database}" for ${MIGRATION_LOCK_WAIT_S}s`);
    await connection.query(
      `create table if not exists ${d}.schema_migrations (
         version integer not null primary key,
         name varchar(255) not null,
         applied_at timestamp(3) not null default current_timestamp(3)) engine = InnoDB`,
    );
    const have = await appliedVersions(connection, d);
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (have.has(migration.version)) continue;
      for (const statement of migration.statements(d)) await connection.query(statement);
      await connection.query(`insert into ${d}.schema_migrations (version, name) values (?, ?)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    if (applied.length > 0) options.logger.info({ database: options.database, applied }, 'steadfast/mysql: migrations applied');
    return { database: options.database, applied, version: Math.max(LATEST_VERSION, ...have) };
  });
}

/** Runs `work` on a connection of its own; ending the session frees its named locks too. */
async function withConnection<T>(options: ResolvedOptions, work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await openConnection(options);
  try {
    return await work(connection);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

async function appliedVersions(connection: Connection, d: string): Promise<Set<number>> {
  const [rows] = await connection.query<RowDataPacket[]>(`select version from ${d}.schema_migrations`);
  return new Set(rows.map((row) => Number(row.version)));
}

/** The highest applied version, 0 when the migrations table does not exist. */
export function currentVersion(options: ResolvedOptions): Promise<number> {
  return withConnection(options, async (connection) => {
    const [tables] = await connection.query<RowDataPacket[]>(`select 1 from information_schema.tables where table_schema = ? and table_name = 'schema_migrations'`, [
      options.database,
    ]);
    if (tables.length === 0) return 0;
    return Math.max(0, ...(await appliedVersions(connection, quoteIdent(options.database))));
  });
}

/** What a plugin does at start: apply pending migrations, or (autoMigrate off) insist they were applied. */
export async function prepareDatabase(options: ResolvedOptions): Promise<void> {
  if (options.autoMigrate) {
    await applyMigrations(options);
    return;
  }
  const version = await currentVersion(options);
  if (version < LATEST_VERSION) throw new SchemaBehindError(options.database, version, LATEST_VERSION);
  if (version > LATEST_VERSION) {
    // A newer release migrated ahead (rolling deploy); migrations are additive, so this code can go on.
    options.logger.warn({ database: options.database, version, known: LATEST_VERSION }, 'steadfast/mysql: database is newer than this release');
  }
}
