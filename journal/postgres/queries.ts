/**
 * The PostgreSQL journal's read side (`JournalQueries`): pages by persistenceId, by tag and of all
 * events in `ordering` order, the ids by a loose index scan, and a wake-up after this process's own
 * writes and, through LISTEN/NOTIFY (notifications.ts), after other processes' writes; polling covers
 * a lost notification.
 *
 * Ordering never skips: `ordering` comes from an identity, taken when a row is inserted, but rows become
 * visible when their transaction commits, so a higher ordering can be visible before a lower one. Every
 * by-offset page is therefore cut at the first row whose transaction is not older than every transaction
 * still running in the cluster (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`): a reader never moves
 * past a position a late commit could still fill. A long transaction anywhere in the cluster delays live
 * queries by its length.
 */
import type { JournalQueries, OrderedRepr } from '../../src/persistence/spi.js';
import type pg from 'pg';
import { PluginClosedError } from './errors.js';
import type { EventNotifications } from './notifications.js';
import type { PoolHandle } from './pool.js';
import { readHighest, type ReadStatements } from './read-path.js';
import { payloadOf, ROW_TYPES, toSafeNumber } from './row-codec.js';

/**
 * How many of the newest rows liveStartOffset looks at for one not yet past the horizon: rows written
 * behind a transaction that stays open longer than that many writes may be found only by the next
 * event of their tag (see README, "Ordering guarantees").
 */
const LIVE_START_WINDOW = 10_000;

/** How often live queries look for events other processes wrote. */
const POLL_INTERVAL_MS = 500;

/**
 * Connections of the queries' own pool: a burst of queries waits in the read journal's throttle, never
 * for the connections writes and recoveries use (PostgreSQL here allows 100 in all).
 */
export const QUERY_POOL_SIZE = 4;

const COLUMNS = `j.ordering, j.persistence_id, j.sequence_nr, j.writer_uuid, j.timestamp_ms, j.serializer_id, j.manifest,
  j.payload_json::text, j.payload_bytes, j.tags`;
const SAFE = 'j.tx_id < x.horizon';
const HORIZON = '(select pg_snapshot_xmin(pg_current_snapshot()) as horizon) x';

interface QueryStatements {
  readonly byPersistenceId: string;
  readonly byTag: string;
  readonly all: string;
  readonly ids: string;
  readonly highestOffset: string;
  readonly liveStartOffset: string;
}

/**
 * The pages are prepared statements (named per schema, as the write path's are): a catch-up runs the
 * same statement thousands of times, and planning it each time cost PostgreSQL about 0.7 ms of CPU per
 * page here (a sixth of a by-tag page's). Their plans do not depend on the values: keyset bounds and a
 * limit, on unique indexes.
 */
type PageStatement = 'byPersistenceId' | 'byTag' | 'all';

function statements(schema: string): QueryStatements {
  return {
    // One stream is ordered by sequence_nr, which commits in order: no horizon needed.
    byPersistenceId: `
      select ${COLUMNS}, true
      from ${schema}.journal j
      where j.persistence_id = $1 and j.sequence_nr >= $2 and j.sequence_nr <= $3
      order by j.sequence_nr
      limit $4`,
    // The page of the tag's index first, then each event by its ordering (a nested loop of `limit`
    // probes). A join with the limit outside let the planner merge-join the tag index with the journal's
    // ordering index, reading every event in the range, tagged or not (ten rows per row returned at 10%
    // tagged, a hundred at 1%; without bounds on both sides it read from the journal's first ordering:
    // 200 ms per page at 500 000 events). Tag rows and their events are written and deleted in one
    // statement (write-path.ts, read-path.ts), so each tag row of a snapshot has its event and the page
    // stays `limit` rows long when more exist.
    byTag: `
      select ${COLUMNS}, ${SAFE} or $5::boolean
      from (
          select t.ordering from ${schema}.event_tags t
          where t.tag = $1 and t.ordering > $2 and t.ordering <= $3
          order by t.ordering
          limit $4
        ) t
        join ${schema}.journal j on j.ordering = t.ordering
        cross join ${HORIZON}
      order by t.ordering`,
    all: `
      select ${COLUMNS}, ${SAFE} or $4::boolean
      from ${schema}.journal j cross join ${HORIZON}
      where j.ordering > $1 and j.ordering <= $2
      order by j.ordering
      limit $3`,
    // A loose index scan over the primary key: one probe per id instead of one row per event.
    ids: `
      with recursive ids(id) as (
        (select persistence_id from ${schema}.journal where persistence_id > $1 order by persistence_id limit 1)
        union all
        select (select persistence_id from ${schema}.journal where persistence_id > ids.id order by persistence_id limit 1)
        from ids where ids.id is not null
      )
      select id from ids where id is not null limit $2`,
    highestOffset: `select coalesce(max(ordering), 0)::text from ${schema}.journal`,
    // Just below the oldest row that is visible but not yet past the horizon, looked for among the
    // newest rows (an index scan from the top); the newest ordering when there is none.
    liveStartOffset: `
      select coalesce(
        (select min(r.ordering) - 1 from (select ordering, tx_id from ${schema}.journal order by ordering desc limit ${LIVE_START_WINDOW}) r, ${HORIZON}
          where r.tx_id >= x.horizon),
        (select max(ordering) from ${schema}.journal),
        0)::text`,
  };
}

type Row = [string, string, string, string, string, string, string, string | null, Uint8Array | null, readonly string[], boolean];

/** The rows up to the first one a late commit could still precede. */
function toEvents(rows: readonly Row[]): OrderedRepr[] {
  const events: OrderedRepr[] = [];
  for (const row of rows) {
    if (!row[10]) break;
    events.push({
      offset: toSafeNumber(row[0], 'ordering'),
      persistenceId: row[1],
      sequenceNr: toSafeNumber(row[2], 'sequence_nr'),
      writerUuid: row[3],
      timestamp: toSafeNumber(row[4], 'timestamp_ms'),
      serializerId: row[5],
      manifest: row[6],
      payload: payloadOf(row[7], row[8]),
      tags: row[9],
    });
  }
  return events;
}

/**
 * A current query (bounded by the highest ordering when it started) is not cut at the horizon: every
 * journal write holds the schema's writer lock from drawing its orderings to its commit, so whatever
 * lies at or below a visible ordering was committed before it, and waiting for unrelated transactions
 * elsewhere in the cluster (which the horizon would) gains nothing. Live queries are cut, which also
 * covers rows inserted by hand, bypassing the lock.
 */
function bounded(upToOffset: number): boolean {
  return upToOffset < Number.MAX_SAFE_INTEGER;
}

export class PostgresQueries implements JournalQueries {
  readonly pollIntervalMs = POLL_INTERVAL_MS;
  readonly maxConcurrentStatements = QUERY_POOL_SIZE;
  readonly #statements: QueryStatements;
  readonly #names: Readonly<Record<PageStatement, string>>;
  readonly #listeners = new Set<() => void>();
  #handle: PoolHandle | undefined;
  #closed = false;

  constructor(
    /** Opens the queries' pool on first use (a pool passed to the plugin is shared instead). */
    private readonly openPool: () => PoolHandle,
    schema: string,
    /** Tells this schema's prepared statements from other schemas' on a shared pool. */
    statementId: string,
    private readonly reads: ReadStatements,
    /** Resolves once the schema is migrated. */
    private readonly ready: () => Promise<void>,
    /** Writes of other processes (LISTEN). */
    private readonly notifications: EventNotifications,
  ) {
    this.#statements = statements(schema);
    this.#names = {
      byPersistenceId: `steadfast_query_id_${statementId}`,
      byTag: `steadfast_query_tag_${statementId}`,
      all: `steadfast_query_all_${statementId}`,
    };
  }

  get pool(): pg.Pool {
    if (this.#closed) throw new PluginClosedError('postgresJournal');
    this.#handle ??= this.openPool();
    return this.#handle.pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.notifications.close();
    await this.#handle?.release();
  }

  /** The journal stored events: wake the live queries of this process. */
  written(): void {
    for (const listener of this.#listeners) listener();
  }

  async eventsByPersistenceId(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows('byPersistenceId', [persistenceId, fromSequenceNr, toSequenceNr, limit]);
  }

  async eventsByTag(tag: string, afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows('byTag', [tag, afterOffset, upToOffset, limit, bounded(upToOffset)]);
  }

  async allEvents(afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#rows('all', [afterOffset, upToOffset, limit, bounded(upToOffset)]);
  }

  async persistenceIds(afterId: string | undefined, limit: number): Promise<readonly string[]> {
    await this.ready();
    const result = await this.pool.query<[string]>({ text: this.#statements.ids, values: [afterId ?? '', limit], rowMode: 'array' });
    return result.rows.map((row) => row[0]);
  }

  async highestSequenceNr(persistenceId: string): Promise<number> {
    await this.ready();
    return readHighest(this.pool, this.reads, persistenceId);
  }

  async highestOffset(): Promise<number> {
    await this.ready();
    const result = await this.pool.query<[string]>({ text: this.#statements.highestOffset, rowMode: 'array', types: ROW_TYPES });
    return toSafeNumber(result.rows[0]![0], 'ordering');
  }

  async liveStartOffset(): Promise<number> {
    await this.ready();
    const result = await this.pool.query<[string]>({ text: this.#statements.liveStartOffset, rowMode: 'array', types: ROW_TYPES });
    return toSafeNumber(result.rows[0]![0], 'ordering');
  }

  onEventsWritten(listener: () => void): () => void {
    const subscription = () => listener();
    this.#listeners.add(subscription);
    const unlisten = this.notifications.subscribe(subscription);
    return () => {
      this.#listeners.delete(subscription);
      unlisten();
    };
  }

  async #rows(statement: PageStatement, values: readonly unknown[]): Promise<OrderedRepr[]> {
    await this.ready();
    const result = await this.pool.query<Row>({ name: this.#names[statement], text: this.#statements[statement], values: values as unknown[], rowMode: 'array', types: ROW_TYPES });
    return toEvents(result.rows);
  }
}
