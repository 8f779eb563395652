import { InvalidOptionError, type SerializedValue, SnapshotMetadata, type SnapshotSelectionCriteria, type SnapshotStore, type StoredSnapshot } from '../../src/persistence/spi.js';
import { resolveOptions, type PostgresPluginOptions } from './options.js';
import { payloadOf, ROW_TYPES, toSafeNumber } from './row-codec.js';
import { PostgresPlugin } from './schema-connection.js';
import { quoteIdent } from './sql-names.js';

export type PostgresSnapshotStoreOptions = PostgresPluginOptions;

type SnapshotRow = [string, string, string, string, string, string | null, Uint8Array | null];

/** Candidates fetched per load: the newest usually wins; the rest cover snapshots that cannot be read. */
const LOAD_CANDIDATES = 5;

/**
 * Snapshots in one table keyed (persistence_id, sequence_nr). A save is one upsert statement, so a crash
 * leaves either the old row or the new one, never a torn snapshot.
 */
export class PostgresSnapshotStore extends PostgresPlugin implements SnapshotStore {
  readonly #table: string;

  constructor(options: PostgresSnapshotStoreOptions) {
    super(resolveOptions(options, 'postgresSnapshotStore'), 'postgresSnapshotStore');
    this.#table = `${quoteIdent(this.schema)}.snapshots`;
  }

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    await this.#ready();
    let offset = 0;
    for (;;) {
      const { rows } = await this.pool.query<SnapshotRow>({
        text: `
          select persistence_id, sequence_nr, timestamp_ms, serializer_id, manifest, payload_json::text, payload_bytes
          from ${this.#table}
          where persistence_id = $1
            and sequence_nr between $2 and $3
            and timestamp_ms between $4 and $5
          order by sequence_nr desc, timestamp_ms desc
          limit $6 offset $7`,
        values: [persistenceId, criteria.minSequenceNr, criteria.maxSequenceNr, criteria.minTimestamp, criteria.maxTimestamp, LOAD_CANDIDATES, offset],
        rowMode: 'array',
        types: ROW_TYPES,
      });
      for (const row of rows) {
        try {
          return {
            metadata: new SnapshotMetadata(row[0], toSafeNumber(row[1], 'sequence_nr'), toSafeNumber(row[2], 'timestamp_ms')),
            snapshot: { serializerId: row[3], manifest: row[4], payload: payloadOf(row[5], row[6]) },
          };
        } catch (error) {
          this.options.logger.warn({ err: error, persistenceId, sequenceNr: row[1] }, 'steadfast/postgres: unreadable snapshot skipped');
        }
      }
      if (rows.length < LOAD_CANDIDATES) return undefined;
      offset += rows.length;
    }
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    await this.#ready();
    checkMetadata(metadata);
    const json = typeof snapshot.payload === 'string' ? snapshot.payload : null;
    const bytes = typeof snapshot.payload === 'string' ? null : snapshot.payload;
    await this.pool.query(
      `insert into ${this.#table}
         (persistence_id, sequence_nr, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7)
       on conflict (persistence_id, sequence_nr) do update set
         timestamp_ms = excluded.timestamp_ms, serializer_id = excluded.serializer_id, manifest = excluded.manifest,
         payload_json = excluded.payload_json, payload_bytes = excluded.payload_bytes`,
      [metadata.persistenceId, metadata.sequenceNr, metadata.timestamp, snapshot.serializerId, snapshot.manifest, json, bytes],
    );
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    await this.#ready();
    await this.pool.query(`delete from ${this.#table} where persistence_id = $1 and sequence_nr = $2 and ($3::int8 = 0 or timestamp_ms = $3)`, [
      metadata.persistenceId,
      metadata.sequenceNr,
      metadata.timestamp,
    ]);
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    await this.#ready();
    await this.pool.query(
      `delete from ${this.#table}
       where persistence_id = $1 and sequence_nr between $2 and $3 and timestamp_ms between $4 and $5`,
      [persistenceId, criteria.minSequenceNr, criteria.maxSequenceNr, criteria.minTimestamp, criteria.maxTimestamp],
    );
  }

  async close(): Promise<void> {
    if (this.connection.markClosed()) await this.connection.release();
  }

  #ready(): Promise<void> {
    return this.connection.ready();
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

export function postgresSnapshotStore(options: PostgresSnapshotStoreOptions): PostgresSnapshotStore {
  return new PostgresSnapshotStore(options);
}
