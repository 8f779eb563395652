/**
 * The receiving side's deduplication for effects that are PostgreSQL writes rather than events: an
 * inbox table of (sender, delivery id) pairs, checked and written in the SAME transaction as the
 * effect. Recording the pair in a separate transaction is the classic hole: a crash between the two
 * either applies the effect twice or loses it.
 */
import { InvalidOptionError } from '../../src/persistence/spi.js';
import type pg from 'pg';
import { openPool, type PoolHandle } from './pool.js';
import { resolveOptions, type PostgresPluginOptions } from './options.js';
import { quoteIdent } from './sql-names.js';

export interface PostgresInboxOptions extends Omit<PostgresPluginOptions, 'autoMigrate'> {
  /** Table name inside the schema. Default 'inbox'. */
  table?: string;
}

export type InboxOutcome = 'applied' | 'duplicate';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export class PostgresInbox {
  readonly schema: string;
  readonly #table: string;
  readonly #tableName: string;
  readonly #handle: PoolHandle;

  constructor(options: PostgresInboxOptions) {
    const { table = 'inbox', ...pluginOptions } = options ?? {};
    if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
      throw new InvalidOptionError(`postgresInbox: table must be a PostgreSQL identifier, got ${JSON.stringify(table)}`);
    }
    const resolved = resolveOptions(pluginOptions, 'postgresInbox');
    this.schema = resolved.schema;
    this.#tableName = table;
    this.#table = `${quoteIdent(resolved.schema)}.${quoteIdent(table)}`;
    this.#handle = openPool(resolved);
  }

  get pool(): pg.Pool {
    return this.#handle.pool;
  }

  /** Creates the schema and table if missing (idempotent; safe to run from several processes). */
  async migrate(): Promise<void> {
    await this.pool.query(`create schema if not exists ${quoteIdent(this.schema)}`);
    await this.pool.query(
      `create table if not exists ${this.#table} (
         sender_id text not null,
         delivery_id bigint not null,
         received_at timestamptz not null default now(),
         primary key (sender_id, delivery_id)
       )`,
    );
    await this.pool.query(`create index if not exists ${quoteIdent(`${this.#tableName}_received_at`)} on ${this.#table} (received_at)`);
  }

  /**
   * Applies `effect` once per (senderId, deliveryId): the inbox row and the effect commit together or
   * not at all. A concurrent duplicate waits on the row lock and then sees 'duplicate'. If `effect`
   * throws, nothing is recorded, so the redelivery applies it again.
   */
  async process(senderId: string, deliveryId: number, effect: (client: pg.PoolClient) => Promise<void>): Promise<InboxOutcome> {
    if (typeof senderId !== 'string' || senderId.length === 0) throw new InvalidOptionError('postgresInbox.process: senderId must be a non-empty string');
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 1)
      throw new InvalidOptionError(`postgresInbox.process: deliveryId must be a positive integer, got ${String(deliveryId)}`);
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const inserted = await client.query(`insert into ${this.#table} (sender_id, delivery_id) values ($1, $2) on conflict do nothing returning 1`, [senderId, deliveryId]);
      if (inserted.rowCount === 0) {
        await client.query('commit');
        return 'duplicate';
      }
      await effect(client);
      await client.query('commit');
      return 'applied';
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes entries older than `olderThanMs`, `batchSize` rows per statement so that a large clean-up
   * never holds long locks. Only forget what no sender can redeliver any more (older than the longest
   * redelivery horizon). Returns the number of rows deleted.
   */
  async cleanup(options: { olderThanMs: number; batchSize?: number }): Promise<number> {
    const { olderThanMs, batchSize = 10_000 } = options ?? {};
    if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0)) throw new InvalidOptionError('postgresInbox.cleanup: olderThanMs must be a number >= 0');
    if (!(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new InvalidOptionError('postgresInbox.cleanup: batchSize must be a positive integer');
    let total = 0;
    for (;;) {
      const result = await this.pool.query(
        `delete from ${this.#table} where ctid in (
           select ctid from ${this.#table} where received_at < now() - make_interval(secs => $1::double precision / 1000) limit $2
         )`,
        [olderThanMs, batchSize],
      );
      total += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < batchSize) return total;
    }
  }

  close(): Promise<void> {
    return this.#handle.release();
  }
}

export function postgresInbox(options: PostgresInboxOptions): PostgresInbox {
  return new PostgresInbox(options);
}
