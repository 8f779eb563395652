/** Projection offsets in the journal's file (`projection_offsets`, `projection_skipped`, schema version 3). */
import type Database from 'better-sqlite3';
import type { OffsetStore, SkippedEvent } from '../../src/persistence/spi.js';
import { checkOffsetArguments } from '../memory/offset-checks.js';

interface Statements {
  readonly read: Database.Statement;
  readonly upsert: Database.Statement;
  readonly reset: Database.Transaction<(projection: string) => void>;
  readonly record: Database.Statement;
  readonly skipped: Database.Statement;
}

export class SqliteOffsetStore implements OffsetStore {
  #statements: Statements | undefined;
  #db: Database.Database | undefined;

  constructor(private readonly connection: () => Database.Database) {}

  async readOffset(projection: string): Promise<number> {
    checkOffsetArguments(projection);
    return (this.#prepared().read.get(projection) as [number] | undefined)?.[0] ?? 0;
  }

  async saveOffset(projection: string, offset: number): Promise<void> {
    checkOffsetArguments(projection, offset);
    this.#prepared().upsert.run(projection, offset, Date.now());
  }

  async resetOffset(projection: string): Promise<void> {
    checkOffsetArguments(projection);
    this.#prepared().reset(projection);
  }

  async recordSkipped(projection: string, skipped: SkippedEvent): Promise<void> {
    checkOffsetArguments(projection, skipped.offset);
    this.#prepared().record.run(projection, skipped.offset, skipped.persistenceId, skipped.sequenceNr, skipped.error, skipped.at);
  }

  async skippedEvents(projection: string): Promise<readonly SkippedEvent[]> {
    checkOffsetArguments(projection);
    const rows = this.#prepared().skipped.all(projection) as [number, string, number, string, number][];
    return rows.map(([offset, persistenceId, sequenceNr, error, at]) => ({ offset, persistenceId, sequenceNr, error, at }));
  }

  #prepared(): Statements {
    const db = this.connection();
    if (this.#statements !== undefined && this.#db === db) return this.#statements;
    const deleteOffset = db.prepare('DELETE FROM projection_offsets WHERE projection = ?');
    const deleteSkipped = db.prepare('DELETE FROM projection_skipped WHERE projection = ?');
    this.#statements = {
      read: db.prepare('SELECT offset_value FROM projection_offsets WHERE projection = ?').raw(true),
      upsert: db.prepare(
        `INSERT INTO projection_offsets (projection, offset_value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (projection) DO UPDATE SET offset_value = excluded.offset_value, updated_at = excluded.updated_at`,
      ),
      reset: db.transaction((projection: string) => {
        deleteSkipped.run(projection);
        deleteOffset.run(projection);
      }),
      record: db.prepare('INSERT OR IGNORE INTO projection_skipped (projection, offset_value, persistence_id, sequence_nr, error, at_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      skipped: db.prepare('SELECT offset_value, persistence_id, sequence_nr, error, at_ms FROM projection_skipped WHERE projection = ? ORDER BY offset_value').raw(true),
    };
    this.#db = db;
    return this.#statements;
  }
}
