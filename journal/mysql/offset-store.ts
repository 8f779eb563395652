/**
 * Projection offsets in the journal's database (`projection_offsets`, `projection_skipped`, migration 3).
 * `saveOffsetIn(connection, ...)` writes the offset inside a caller's transaction, so a read model's
 * rows and the offset commit together.
 */
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import type { OffsetStore, SkippedEvent } from '../../src/persistence/spi.js';
import { checkOffsetArguments as check } from '../memory/offset-checks.js';
import { textOf, toSafeNumber } from './row-codec.js';

export class MysqlOffsetStore implements OffsetStore {
  readonly #upsert: string;
  readonly #read: string;
  readonly #resetSkipped: string;
  readonly #resetOffset: string;
  readonly #record: string;
  readonly #skipped: string;

  constructor(
    private readonly pool: Pool,
    d: string,
    private readonly ready: () => Promise<void>,
  ) {
    this.#upsert = `insert into ${d}.projection_offsets (projection, offset_value) values (?, ?)
      on duplicate key update offset_value = values(offset_value), updated_at = current_timestamp(3)`;
    this.#read = `select offset_value from ${d}.projection_offsets where projection = ?`;
    this.#resetSkipped = `delete from ${d}.projection_skipped where projection = ?`;
    this.#resetOffset = `delete from ${d}.projection_offsets where projection = ?`;
    this.#record = `insert ignore into ${d}.projection_skipped (projection, offset_value, persistence_id, sequence_nr, error, at_ms) values (?, ?, ?, ?, ?, ?)`;
    this.#skipped = `select offset_value, persistence_id, sequence_nr, error, at_ms from ${d}.projection_skipped where projection = ? order by offset_value`;
  }

  async readOffset(projection: string): Promise<number> {
    check(projection);
    await this.ready();
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: this.#read, values: [projection], rowsAsArray: true });
    const first = (rows as unknown as [unknown][])[0];
    return first === undefined ? 0 : toSafeNumber(first[0], 'offset_value');
  }

  async saveOffset(projection: string, offset: number): Promise<void> {
    check(projection, offset);
    await this.ready();
    await this.pool.query(this.#upsert, [projection, offset]);
  }

  /** Stores the offset on `connection`, inside whatever transaction it has open. */
  async saveOffsetIn(connection: Pick<Connection, 'query'>, projection: string, offset: number): Promise<void> {
    check(projection, offset);
    await connection.query(this.#upsert, [projection, offset]);
  }

  async resetOffset(projection: string): Promise<void> {
    check(projection);
    await this.ready();
    // Skipped first: a reset cut off in between leaves the offset, which a second reset removes.
    await this.pool.query(this.#resetSkipped, [projection]);
    await this.pool.query(this.#resetOffset, [projection]);
  }

  async recordSkipped(projection: string, skipped: SkippedEvent): Promise<void> {
    check(projection, skipped.offset);
    await this.ready();
    await this.pool.query(this.#record, [projection, skipped.offset, skipped.persistenceId, skipped.sequenceNr, skipped.error, skipped.at]);
  }

  async skippedEvents(projection: string): Promise<readonly SkippedEvent[]> {
    check(projection);
    await this.ready();
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: this.#skipped, values: [projection], rowsAsArray: true });
    return (rows as unknown as [unknown, Buffer, unknown, string, unknown][]).map(([offset, persistenceId, sequenceNr, error, at]) => ({
      offset: toSafeNumber(offset, 'offset_value'),
      persistenceId: textOf(persistenceId),
      sequenceNr: toSafeNumber(sequenceNr, 'sequence_nr'),
      error,
      at: toSafeNumber(at, 'at_ms'),
    }));
  }
}
