import { InvalidOptionError, type PersistentRepr } from '../../src/persistence/spi.js';
import type pg from 'pg';
import { payloadOf, ROW_TYPES, toSafeNumber } from './row-codec.js';

/** An event with its position in the schema-wide order. */
export interface OrderedEvent extends PersistentRepr {
  /** Increases with commit order across all persistenceIds; gaps are possible (rolled-back writes). */
  readonly ordering: number;
}

export interface GlobalReadOptions {
  /** Smallest ordering to return (inclusive); resume with the last ordering seen + 1. Default 1. */
  fromOrdering?: number;
  /** Most events to return. Default 1000. */
  limit?: number;
}

export interface GlobalStatements {
  readonly all: string;
  readonly byTag: string;
}

// `safe` tells whether the row's transaction is older than every transaction still running anywhere in
// the cluster (pg_snapshot_xmin of this statement's snapshot). The result is cut at the first row that is
// not safe, so a reader never moves past a position that a late commit could still fill.
const COLUMNS = `j.ordering, j.persistence_id, j.sequence_nr, j.writer_uuid, j.timestamp_ms, j.serializer_id, j.manifest,
  j.payload_json::text, j.payload_bytes, j.tags, j.tx_id < x.horizon as safe`;
const HORIZON = `(select pg_snapshot_xmin(pg_current_snapshot()) as horizon) x`;

export function globalStatements(schema: string): GlobalStatements {
  return {
    all: `
      select ${COLUMNS}
      from ${schema}.journal j cross join ${HORIZON}
      where j.ordering >= $1
      order by j.ordering
      limit $2`,
    byTag: `
      select ${COLUMNS}
      from ${schema}.event_tags t
        join ${schema}.journal j on j.ordering = t.ordering
        cross join ${HORIZON}
      where t.tag = $1 and t.ordering >= $2
      order by t.ordering
      limit $3`,
  };
}

type GlobalRow = [string, string, string, string, string, string, string, string | null, Uint8Array | null, readonly string[], boolean];

function resolve(options: GlobalReadOptions): { from: number; limit: number } {
  const from = options.fromOrdering ?? 1;
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(from) || from < 0) throw new InvalidOptionError(`fromOrdering must be a non-negative safe integer, got ${String(from)}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidOptionError(`limit must be a positive safe integer, got ${String(limit)}`);
  return { from, limit };
}

function toEvents(rows: readonly GlobalRow[]): OrderedEvent[] {
  const events: OrderedEvent[] = [];
  for (const row of rows) {
    if (!row[10]) break;
    events.push({
      ordering: toSafeNumber(row[0], 'ordering'),
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

export async function queryAllEvents(pool: pg.Pool, statements: GlobalStatements, options: GlobalReadOptions): Promise<OrderedEvent[]> {
  const { from, limit } = resolve(options);
  const result = await pool.query<GlobalRow>({ text: statements.all, values: [from, limit], rowMode: 'array', types: ROW_TYPES });
  return toEvents(result.rows);
}

export async function queryEventsByTag(pool: pg.Pool, statements: GlobalStatements, tag: string, options: GlobalReadOptions): Promise<OrderedEvent[]> {
  if (typeof tag !== 'string' || tag === '') throw new InvalidOptionError('tag must be a non-empty string');
  const { from, limit } = resolve(options);
  const result = await pool.query<GlobalRow>({ text: statements.byTag, values: [tag, from, limit], rowMode: 'array', types: ROW_TYPES });
  return toEvents(result.rows);
}
