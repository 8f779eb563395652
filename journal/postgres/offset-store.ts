/**
 * Projection offsets in the journal's schema (`projection_offsets`, `projection_skipped`, migration 3).
 * `commitWithOffset(client, ...)` writes the offset inside a caller's transaction and commits it:
 * `postgresProjection` stores it with the read model's rows, so both commit or neither does.
 */
import type pg from 'pg';
import type { OffsetStore, SkippedEvent } from '../../src/persistence/spi.js';
import { checkOffsetArguments as check } from '../memory/offset-checks.js';
import { toSafeNumber } from './row-codec.js';

export class PostgresOffsetStore implements OffsetStore {
  readonly #upsert: string;
  readonly #schema: string;
  readonly #read: string;
  readonly #reset: string;
  readonly #record: string;
  readonly #skipped: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
    private readonly ready: () => Promise<void>,
  ) {
    this.#schema = schema;
    this.#upsert = upsert(schema, '$1', '$2');
    this.#read = `select offset_value::text from ${schema}.projection_offsets where projection = $1`;
    this.#reset = `with gone as (delete from ${schema}.projection_skipped where projection = $1)
      delete from ${schema}.projection_offsets where projection = $1`;
    this.#record = `insert into ${schema}.projection_skipped (projection, offset_value, persistence_id, sequence_nr, error, at_ms)
      values ($1, $2, $3, $4, $5, $6) on conflict do nothing`;
    this.#skipped = `select offset_value::text, persistence_id, sequence_nr::text, error, at_ms::text
      from ${schema}.projection_skipped where projection = $1 order by offset_value`;
  }

  async readOffset(projection: string): Promise<number> {
    check(projection);
    await this.ready();
    const result = await this.pool.query<[string]>({ text: this.#read, values: [projection], rowMode: 'array' });
    return result.rows.length === 0 ? 0 : toSafeNumber(result.rows[0]![0], 'offset_value');
  }

  async saveOffset(projection: string, offset: number): Promise<void> {
    check(projection, offset);
    await this.ready();
    await this.pool.query(this.#upsert, [projection, offset]);
  }

  /**
   * Stores the offset on `client`, inside the transaction it has open, and commits that transaction:
   * one round trip, as a simple query of two statements (values inlined: the name escaped as a literal,
   * the offset a checked integer). Where the upsert fails the commit does not run, and the caller rolls
   * back. A projection's transaction is begin, handler, this: one round trip fewer than with a separate
   * upsert and commit, per batch. With `beginNext` the next transaction begins in the same round trip
   * (`begin` runs only if the commit did).
   */
  async commitWithOffset(client: pg.ClientBase, projection: string, offset: number, beginNext = false): Promise<void> {
    check(projection, offset);
    // `commit and chain` would keep the isolation level the caller may have set for this transaction
    // alone; a plain `begin` starts the next one as any other.
    await client.query(`${upsert(this.#schema, client.escapeLiteral(projection), String(offset))}; commit${beginNext ? '; begin' : ''}`);
  }

  async resetOffset(projection: string): Promise<void> {
    check(projection);
    await this.ready();
    await this.pool.query(this.#reset, [projection]);
  }

  async recordSkipped(projection: string, skipped: SkippedEvent): Promise<void> {
    check(projection, skipped.offset);
    await this.ready();
    await this.pool.query(this.#record, [projection, skipped.offset, skipped.persistenceId, skipped.sequenceNr, skipped.error, skipped.at]);
  }

  async skippedEvents(projection: string): Promise<readonly SkippedEvent[]> {
    check(projection);
    await this.ready();
    const result = await this.pool.query<[string, string, string, string, string]>({ text: this.#skipped, values: [projection], rowMode: 'array' });
    return result.rows.map(([offset, persistenceId, sequenceNr, error, at]) => ({
      offset: toSafeNumber(offset, 'offset_value'),
      persistenceId,
      sequenceNr: toSafeNumber(sequenceNr, 'sequence_nr'),
      error,
      at: toSafeNumber(at, 'at_ms'),
    }));
  }
}

function upsert(schema: string, projection: string, offset: string): string {
  return `insert into ${schema}.projection_offsets (projection, offset_value) values (${projection}, ${offset})
      on conflict (projection) do update set offset_value = excluded.offset_value, updated_at = now()`;
}
