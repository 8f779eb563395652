import type pg from 'pg';
import { advisoryLockKey, quoteIdent } from './sql-names.js';
import { SchemaBehindError } from './errors.js';
import type { PostgresLogger } from './options.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL for the schema given as a quoted identifier. */
  sql(schema: string): string;
}

/**
 * The ordered, append-only list of schema changes. Never edit an applied entry: add a new version.
 * See README.md for what each table is for.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'journal',
    sql: (s) => `
      create table ${s}.journal (
        ordering bigint generated always as identity,
        persistence_id text not null,
        sequence_nr bigint not null,
        writer_uuid text not null,
        timestamp_ms bigint not null,
        serializer_id text not null,
        manifest text not null,
        payload_json jsonb,
        payload_bytes bytea,
        tags text[] not null default '{}',
        tx_id xid8 not null default pg_current_xact_id(),
        constraint journal_pk primary key (persistence_id, sequence_nr),
        constraint journal_ordering_uq unique (ordering),
        constraint journal_one_payload check ((payload_json is null) <> (payload_bytes is null)),
        constraint journal_sequence_nr_positive check (sequence_nr > 0)
      );
      create table ${s}.event_tags (
        tag text not null,
        ordering bigint not null,
        constraint event_tags_pk primary key (tag, ordering)
      );
      create table ${s}.journal_metadata (
        persistence_id text primary key,
        highest_sequence_nr bigint not null
      );`,
  },
  {
    version: 2,
    name: 'snapshots',
    sql: (s) => `
      create table ${s}.snapshots (
        persistence_id text not null,
        sequence_nr bigint not null,
        timestamp_ms bigint not null,
        serializer_id text not null,
        manifest text not null,
        payload_json jsonb,
        payload_bytes bytea,
        constraint snapshots_pk primary key (persistence_id, sequence_nr),
        constraint snapshots_one_payload check ((payload_json is null) <> (payload_bytes is null))
      );`,
  },
  {
    version: 3,
    name: 'projection offsets',
    sql: (s) => `
      create table ${s}.projection_offsets (
        projection text primary key,
        offset_value bigint not null,
        updated_at timestamptz not null default now()
      );
      create table ${s}.projection_skipped (
        projection text not null,
        offset_value bigint not null,
        persistence_id text not null,
        sequence_nr bigint not null,
        error text not null,
        at_ms bigint not null,
        constraint projection_skipped_pk primary key (projection, offset_value)
      );`,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface MigrationResult {
  readonly schema: string;
  readonly applied: readonly number[];
  readonly version: number;
}

/**
 * Applies every pending migration in one transaction. The transaction-scoped advisory lock makes a second
 * process that starts at the same moment wait, then see the versions the first one recorded and apply
 * nothing: concurrent starts are safe and a failed migration leaves no half-made schema.
 */
export async function applyMigrations(pool: pg.Pool, schema: string, logger?: PostgresLogger): Promise<MigrationResult> {
  const s = quoteIdent(schema);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('begin');
    try {
      await client.query('select pg_advisory_xact_lock($1::int8)', [advisoryLockKey('migrate', schema)]);
      await client.query(`create schema if not exists ${s}`);
      await client.query(
        `create table if not exists ${s}.schema_migrations (
           version integer primary key,
           name text not null,
           applied_at timestamptz not null default now())`,
      );
      const done = await client.query<{ version: number }>(`select version from ${s}.schema_migrations`);
      const have = new Set(done.rows.map((row) => row.version));
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (have.has(migration.version)) continue;
        await client.query(migration.sql(s));
        await client.query(`insert into ${s}.schema_migrations (version, name) values ($1, $2)`, [migration.version, migration.name]);
        applied.push(migration.version);
      }
      await client.query('commit');
      if (applied.length > 0) logger?.info({ schema, applied }, 'steadfast/postgres: migrations applied');
      return { schema, applied, version: Math.max(LATEST_VERSION, ...have) };
    } catch (error) {
      await client.query('rollback').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

/** The highest applied version, 0 when the schema or its migrations table does not exist. */
export async function currentVersion(pool: pg.Pool, schema: string): Promise<number> {
  const exists = await pool.query<{ found: boolean }>(`select to_regclass($1) is not null as found`, [`${quoteIdent(schema)}.schema_migrations`]);
  if (!exists.rows[0]?.found) return 0;
  const result = await pool.query<{ version: number | null }>(`select max(version) as version from ${quoteIdent(schema)}.schema_migrations`);
  return result.rows[0]?.version ?? 0;
}

/** For autoMigrate: false — fail clearly when the schema lags behind this code. */
export async function requireLatest(pool: pg.Pool, schema: string, logger: PostgresLogger): Promise<void> {
  const version = await currentVersion(pool, schema);
  if (version < LATEST_VERSION) throw new SchemaBehindError(schema, version, LATEST_VERSION);
  if (version > LATEST_VERSION) {
    // A newer release migrated ahead (rolling deploy); migrations are additive, so this code can go on.
    logger.warn({ schema, version, known: LATEST_VERSION }, 'steadfast/postgres: schema is newer than this release');
  }
}

/** What a plugin does at start: apply pending migrations, or (autoMigrate off) insist they were applied. */
export async function prepareSchema(pool: pg.Pool, schema: string, options: { readonly autoMigrate: boolean; readonly logger: PostgresLogger }): Promise<void> {
  if (options.autoMigrate) await applyMigrations(pool, schema, options.logger);
  else await requireLatest(pool, schema, options.logger);
}
