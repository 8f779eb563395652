/**
 * The MySQL journal's read side (`JournalQueries`): pages by persistenceId, by tag and of all events in
 * `ordering` order, the ids by a loose index scan, and a wake-up after this process's own writes;
 * polling finds other processes' writes (MySQL has no LISTEN/NOTIFY).
 *
 * Ordering never skips, without a read horizon: orderings are drawn by the holder of the database's
 * ordering lock (ordering-lock.ts), which lets it go only after its commits, so a writer draws
 * orderings only after every earlier drawer committed (or rolled back, handing nothing out). A
 * statement that sees ordering n therefore also sees every ordering below it: each autocommit SELECT
 * reads one consistent snapshot. See README, "Global ordering".
 */
import type { JournalQueries, OrderedRepr } from '../../src/persistence/spi.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { PluginClosedError } from './errors.js';
import type { PoolHandle } from './pool.js';
import { readHighest, type ReadStatements } from './read-path.js';
import { payloadOf, tagsOf, textOf, toSafeNumber } from './row-codec.js';

/** How often live queries look for events other processes wrote. */
const POLL_INTERVAL_MS = 250;

/** Connections of the queries' own pool: a burst of queries waits in the read journal's throttle. */
export const QUERY_POOL_SIZE = 4;

const COLUMNS = 'j.ordering, j.persistence_id, j.sequence_nr, j.writer_uuid, j.timestamp_ms, j.serializer_id, j.manifest, j.payload_json, j.payload_bytes, j.tags';

interface QueryStatements {
  readonly byPersistenceId: string;
  readonly byTag: string;
  readonly all: string;
  readonly ids: string;
  readonly highestOffset: string;
}

function statements(d: string): QueryStatements {
  return {
    byPersistenceId: `
      select ${COLUMNS} from ${d}.journal j
      where j.persistence_id = ? and j.sequence_nr >= ? and j.sequence_nr <= ?
      order by j.sequence_nr limit ?`,
    byTag: `
      select ${COLUMNS} from ${d}.event_tags t join ${d}.journal j on j.ordering = t.ordering
      where t.tag = ? and t.ordering > ? and t.ordering <= ?
      order by t.ordering limit ?`,
    all: `
      select ${COLUMNS} from ${d}.journal j
      where j.ordering > ? and j.ordering <= ?
      order by j.ordering limit ?`,
    // DISTINCT on the primary key's first column is a loose index scan ("Using index for group-by").
    ids: `select distinct persistence_id from ${d}.journal where persistence_id > ? order by persistence_id limit ?`,
    highestOffset: `select coalesce(max(ordering), 0) from ${d}.journal`,
  };
}

type Row = [number | string, Buffer, number | string, string, number | string, string, string, string | null, Buffer | null, string | null];

function toEvents(rows: readonly Row[]): OrderedRepr[] {
  return rows.map((row) => ({
    offset: toSafeNumber(row[0], 'ordering'),
    persistenceId: textOf(row[1]),
    sequenceNr: toSafeNumber(row[2], 'sequence_nr'),
    writerUuid: row[3],
    timestamp: toSafeNumber(row[4], 'timestamp_ms'),
    serializerId: row[5],
    manifest: row[6],
    payload: payloadOf(row[7], row[8]),
    tags: tagsOf(row[9]),
  }));
}

export class MysqlQueries implements JournalQueries {
  readonly pollIntervalMs = POLL_INTERVAL_MS;
  readonly maxConcurrentStatements = QUERY_POOL_SIZE;
  readonly #statements: QueryStatements;
  readonly #listeners = new Set<() => void>();
  #handle: PoolHandle | undefined;
  #closed = false;

  constructor(
    /** Opens the queries' pool on first use (a pool passed to the plugin is shared instead). */
    private readonly openPool: () => PoolHandle,
    database: string,
    private readonly reads: ReadStatements,
    /** Resolves once the database is migrated. */
    private readonly ready: () => Promise<void>,
  ) {
    this.#statements = statements(database);
  }

  get pool(): Pool {
    if (this.#closed) throw new PluginClosedError('mysqlJournal');
    this.#handle ??= this.openPool();
    return this.#handle.pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#handle?.release();
  }

  /** The journal stored events: wake the live queries of this process. */
  written(): void {
    for (const listener of this.#listeners) listener();
  }

  eventsByPersistenceId(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows(this.#statements.byPersistenceId, [persistenceId, fromSequenceNr, toSequenceNr, limit]);
  }

  eventsByTag(tag: string, afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows(this.#statements.byTag, [tag, afterOffset, upToOffset, limit]);
  }

  allEvents(afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows(this.#statements.all, [afterOffset, upToOffset, limit]);
  }

  async persistenceIds(afterId: string | undefined, limit: number): Promise<readonly string[]> {
    await this.ready();
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: this.#statements.ids, values: [afterId ?? '', limit], rowsAsArray: true });
    return (rows as unknown as [Buffer][]).map((row) => textOf(row[0]));
  }

  async highestSequenceNr(persistenceId: string): Promise<number> {
    await this.ready();
    return readHighest(this.pool, this.reads, persistenceId);
  }

  async highestOffset(): Promise<number> {
    await this.ready();
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: this.#statements.highestOffset, rowsAsArray: true });
    return toSafeNumber((rows as unknown as [unknown][])[0]![0], 'ordering');
  }

  onEventsWritten(listener: () => void): () => void {
    const subscription = () => listener();
    this.#listeners.add(subscription);
    return () => this.#listeners.delete(subscription);
  }

  async #rows(sql: string, values: readonly unknown[]): Promise<OrderedRepr[]> {
    await this.ready();
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql, values: values as unknown[], rowsAsArray: true });
    return toEvents(rows as unknown as Row[]);
  }
}
