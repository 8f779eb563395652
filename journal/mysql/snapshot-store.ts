import { InvalidOptionError, type SerializedValue, SnapshotMetadata, type SnapshotSelectionCriteria, type SnapshotStore, type StoredSnapshot } from '../../src/persistence/spi.js';
import type { RowDataPacket } from 'mysql2/promise';
import { resolveOptions, type MysqlPluginOptions } from './options.js';
import { MysqlPlugin } from './plugin.js';
import { bufferOf, payloadOf, textOf, toSafeNumber } from './row-codec.js';

export type MysqlSnapshotStoreOptions = MysqlPluginOptions;

type SnapshotRow = [Buffer, unknown, unknown, string, string, string | null, Buffer | null];

/** Candidates fetched per load: the newest usually wins; the rest cover snapshots that cannot be read. */
const LOAD_CANDIDATES = 5;

/**
 * Snapshots in one table keyed (persistence_id, sequence_nr). A save is one upsert statement, so a crash
 * leaves either the old row or the new one, never a torn snapshot.
 */
export class MysqlSnapshotStore extends MysqlPlugin implements SnapshotStore {
  readonly #table: string;

  constructor(options: MysqlSnapshotStoreOptions) {
    super(resolveOptions(options, 'mysqlSnapshotStore'), 'mysqlSnapshotStore');
    this.#table = `${this.quoted}.snapshots`;
  }

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    await this.ready();
    let offset = 0;
    for (;;) {
      const [result] = await this.pool.query<RowDataPacket[]>({
        sql: `
          select persistence_id, sequence_nr, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes
          from ${this.#table}
          where persistence_id = ? and sequence_nr between ? and ? and timestamp_ms between ? and ?
          order by sequence_nr desc, timestamp_ms desc
          limit ? offset ?`,
        values: [persistenceId, criteria.minSequenceNr, criteria.maxSequenceNr, criteria.minTimestamp, criteria.maxTimestamp, LOAD_CANDIDATES, offset],
        rowsAsArray: true,
      });
      const rows = result as unknown as SnapshotRow[];
      for (const row of rows) {
        try {
          return {
            metadata: new SnapshotMetadata(textOf(row[0]), toSafeNumber(row[1], 'sequence_nr'), toSafeNumber(row[2], 'timestamp_ms')),
            snapshot: { serializerId: row[3], manifest: row[4], payload: payloadOf(row[5], row[6]) },
          };
        } catch (error) {
          this.options.logger.warn({ err: error, persistenceId, sequenceNr: row[1] }, 'steadfast/mysql: unreadable snapshot skipped');
        }
      }
      if (rows.length < LOAD_CANDIDATES) return undefined;
      offset += rows.length;
    }
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    await this.ready();
    checkMetadata(metadata);
    const json = typeof snapshot.payload === 'string' ? snapshot.payload : null;
    const bytes = typeof snapshot.payload === 'string' ? null : bufferOf(snapshot.payload);
    await this.pool.query(
      `insert into ${this.#table}
         (persistence_id, sequence_nr, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes)
       values (?, ?, ?, ?, ?, ?, ?)
       on duplicate key update
         timestamp_ms = values(timestamp_ms), serializer_id = values(serializer_id), manifest = values(manifest),
         payload_json = values(payload_json), payload_bytes = values(payload_bytes)`,
      [metadata.persistenceId, metadata.sequenceNr, metadata.timestamp, snapshot.serializerId, snapshot.manifest, json, bytes],
    );
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    await this.ready();
    await this.pool.query(`delete from ${this.#table} where persistence_id = ? and sequence_nr = ? and (? = 0 or timestamp_ms = ?)`, [
      metadata.persistenceId,
      metadata.sequenceNr,
      metadata.timestamp,
      metadata.timestamp,
    ]);
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    await this.ready();
    await this.pool.query(`delete from ${this.#table} where persistence_id = ? and sequence_nr between ? and ? and timestamp_ms between ? and ?`, [
      persistenceId,
      criteria.minSequenceNr,
      criteria.maxSequenceNr,
      criteria.minTimestamp,
      criteria.maxTimestamp,
    ]);
  }

  async close(): Promise<void> {
    if (this.markClosed()) await this.releasePool();
  }
}

function checkMetadata(metadata: SnapshotMetadata): void {
  if (!Number.isSafeInteger(metadata.sequenceNr) || metadata.sequenceNr < 0) {
    throw new InvalidOptionError(`snapshot sequenceNr must be a non-negative safe integer, got ${String(metadata.sequenceNr)}`);
  }
  if (!Number.isSafeInteger(metadata.timestamp) || metadata.timestamp < 0) {
    throw new InvalidOptionError(`snapshot timestamp must be a non-negative safe integer, got ${String(metadata.timestamp)}`);
  }
}

export function mysqlSnapshotStore(options: MysqlSnapshotStoreOptions): MysqlSnapshotStore {
  return new MysqlSnapshotStore(options);
}
