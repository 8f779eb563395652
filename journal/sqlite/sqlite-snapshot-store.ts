import { type SerializedValue, SnapshotMetadata, type SnapshotSelectionCriteria, type SnapshotStore, type StoredSnapshot } from '../../src/persistence/spi.js';
import type Database from 'better-sqlite3';
import { PluginClosedError } from './errors.js';
import { type ResolvedDatabaseOptions, type SqliteSnapshotStoreOptions, validateDatabaseOptions } from './options.js';
import { acquireDatabase, type DatabaseLease } from './shared-database.js';

interface Statements {
  readonly load: Database.Statement;
  readonly save: Database.Statement;
  readonly deleteOne: Database.Statement;
  readonly deleteMatching: Database.Statement;
}

interface SnapshotRow {
  sequence_nr: number;
  timestamp: number;
  serializer_id: string;
  manifest: string;
  payload: string | Uint8Array;
}

/**
 * Snapshots in the `snapshot` table of a steadfast SQLite database (the journal's file or another).
 * One row per (persistenceId, sequenceNr), so saving the same sequence number again replaces it; the
 * transaction makes a save all-or-nothing, so a crash cannot leave a torn snapshot.
 */
export class SqliteSnapshotStore implements SnapshotStore {
  readonly #options: ResolvedDatabaseOptions;
  #lease: DatabaseLease | undefined;
  #statements: Statements | undefined;
  #closed = false;

  constructor(options: SqliteSnapshotStoreOptions) {
    this.#options = validateDatabaseOptions('sqliteSnapshotStore', options);
  }

  async start(): Promise<void> {
    this.#open();
  }

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    const row = this.#open().load.get(persistenceId, criteria.minSequenceNr, criteria.maxSequenceNr, criteria.minTimestamp, criteria.maxTimestamp) as SnapshotRow | undefined;
    if (row === undefined) return undefined;
    return {
      metadata: new SnapshotMetadata(persistenceId, row.sequence_nr, row.timestamp),
      snapshot: { serializerId: row.serializer_id, manifest: row.manifest, payload: row.payload },
    };
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    const payload = typeof snapshot.payload === 'string' ? snapshot.payload : asBuffer(snapshot.payload);
    this.#open().save.run(metadata.persistenceId, metadata.sequenceNr, metadata.timestamp, snapshot.serializerId, snapshot.manifest, payload);
    this.#lease?.afterCommit();
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    this.#open().deleteOne.run(metadata.persistenceId, metadata.sequenceNr, metadata.timestamp, metadata.timestamp);
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    this.#open().deleteMatching.run(persistenceId, criteria.minSequenceNr, criteria.maxSequenceNr, criteria.minTimestamp, criteria.maxTimestamp);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements = undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    await lease?.release();
  }

  #open(): Statements {
    if (this.#closed) throw new PluginClosedError('SQLite snapshot store', this.#lease?.path ?? this.#options.path);
    if (this.#statements !== undefined) return this.#statements;
    const lease = acquireDatabase('sqliteSnapshotStore', this.#options);
    const { db } = lease;
    const range = 'sequence_nr BETWEEN ? AND ? AND timestamp BETWEEN ? AND ?';
    this.#statements = {
      load: db.prepare(
        `SELECT sequence_nr, timestamp, serializer_id, manifest, payload FROM snapshot
         WHERE persistence_id = ? AND ${range} ORDER BY sequence_nr DESC, timestamp DESC LIMIT 1`,
      ),
      save: db.prepare(
        `INSERT OR REPLACE INTO snapshot (persistence_id, sequence_nr, timestamp, serializer_id, manifest, payload)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      deleteOne: db.prepare('DELETE FROM snapshot WHERE persistence_id = ? AND sequence_nr = ? AND (? = 0 OR timestamp = ?)'),
      deleteMatching: db.prepare(`DELETE FROM snapshot WHERE persistence_id = ? AND ${range}`),
    };
    this.#lease = lease;
    return this.#statements;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Snapshots in a SQLite file; may share the file (and the connection) with sqliteJournal. */
export function sqliteSnapshotStore(options: SqliteSnapshotStoreOptions): SqliteSnapshotStore {
  return new SqliteSnapshotStore(options);
}
