import type { PersistentRepr, ReplayedEvent } from '../../src/persistence/spi.js';
import type pg from 'pg';
import { payloadOf, ROW_TYPES, toSafeNumber } from './row-codec.js';

/** Rows per round trip of a replay: large enough to amortize the trip, small enough to bound memory. */
export const REPLAY_PAGE_SIZE = 5000;

export interface ReadStatements {
  readonly replay: string;
  readonly replayName: string;
  readonly highest: string;
  readonly highestName: string;
  readonly replayWithHighest: string;
  readonly replayWithHighestName: string;
  readonly deleteTo: string;
}

export function readStatements(schema: string, statementId: string): ReadStatements {
  return {
    // persistence_id is not selected: the caller knows it, and every column costs per-row parsing.
    replay: `
      select sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json::text, payload_bytes, tags
      from ${schema}.journal
      where persistence_id = $1 and sequence_nr >= $2 and sequence_nr <= $3
      order by sequence_nr
      limit $4`,
    replayName: `steadfast_replay_${statementId}`,
    // The fromSequenceNr hint is not used: max() over the primary key is one index probe anyway, and
    // ignoring it means a hint above the true highest can never produce a wrong (lower) answer.
    highest: `
      select greatest(
        (select max(sequence_nr) from ${schema}.journal where persistence_id = $1),
        (select highest_sequence_nr from ${schema}.journal_metadata where persistence_id = $1),
        0)::text as highest`,
    highestName: `steadfast_highest_${statementId}`,
    // A recovery's first page and its highest sequence number in one round trip: an entity that wakes
    // up costs a snapshot read and this, not three trips. The highest travels as one extra row whose
    // writer_uuid is null (the column is not null in the table), so it is told apart whatever order
    // the rows arrive in.
    replayWithHighest: `
      select * from (
        select sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json::text, payload_bytes, tags
        from ${schema}.journal
        where persistence_id = $1 and sequence_nr >= $2 and sequence_nr <= $3
        order by sequence_nr
        limit $4) as page
      union all
      select greatest(
        (select max(sequence_nr) from ${schema}.journal where persistence_id = $1),
        (select highest_sequence_nr from ${schema}.journal_metadata where persistence_id = $1),
        0), null, null, null, null, null, null, null`,
    replayWithHighestName: `steadfast_replay_highest_${statementId}`,
    // The highest sequence number is remembered before the rows go, in the same transaction, so that
    // it survives the deletion of every event; the tag index entries of deleted events go with them.
    deleteTo: `
      with gone as (
        delete from ${schema}.journal where persistence_id = $1 and sequence_nr <= $2
        returning sequence_nr, ordering, tags
      ), remembered as (
        insert into ${schema}.journal_metadata (persistence_id, highest_sequence_nr)
        select $1, max(sequence_nr) from gone having count(*) > 0
        on conflict (persistence_id) do update
          set highest_sequence_nr = greatest(${schema}.journal_metadata.highest_sequence_nr, excluded.highest_sequence_nr)
      )
      delete from ${schema}.event_tags t
      using (select g.ordering, x.tag from gone g, unnest(g.tags) as x(tag)) d
      where t.tag = d.tag and t.ordering = d.ordering`,
  };
}

type ReplayRow = [string, string, string, string, string, string | null, Uint8Array | null, readonly string[]];

function page(statements: ReadStatements, persistenceId: string, from: number, to: number, limit: number, withHighest = false): pg.QueryArrayConfig {
  return {
    name: withHighest ? statements.replayWithHighestName : statements.replayName,
    text: withHighest ? statements.replayWithHighest : statements.replay,
    values: [persistenceId, from, to, limit],
    rowMode: 'array',
    types: ROW_TYPES,
  };
}

/**
 * Keyset pagination on (persistence_id, sequence_nr) with the next page requested while the current one
 * is handed out, so the database works while the consumer does. At most two pages are held at a time.
 * onMessage's promise (if any) is awaited before the next event; synchronous consumers pay no microtask.
 */
export async function replay(
  pool: pg.Pool,
  statements: ReadStatements,
  persistenceId: string,
  fromSequenceNr: number,
  toSequenceNr: number,
  max: number,
  onMessage: ReplayedEvent,
): Promise<void> {
  if (max <= 0 || fromSequenceNr > toSequenceNr) return;
  await pages(pool, statements, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage, false);
}

/**
 * A recovery's replay and then its highest sequence number, the first page and the highest in one
 * round trip. The highest is read with the first page, so events written while later pages stream are
 * covered by the replayed numbers themselves.
 */
export async function replayForRecovery(
  pool: pg.Pool,
  statements: ReadStatements,
  persistenceId: string,
  fromSequenceNr: number,
  toSequenceNr: number,
  max: number,
  onMessage: ReplayedEvent,
): Promise<number> {
  if (max <= 0 || fromSequenceNr > toSequenceNr) return readHighest(pool, statements, persistenceId);
  return pages(pool, statements, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage, true);
}

async function pages(
  pool: pg.Pool,
  statements: ReadStatements,
  persistenceId: string,
  fromSequenceNr: number,
  toSequenceNr: number,
  max: number,
  onMessage: ReplayedEvent,
  withHighest: boolean,
): Promise<number> {
  let remaining = max;
  let highest = 0;
  let next: Promise<pg.QueryArrayResult<ReplayRow>> | undefined = pool.query<ReplayRow>(
    page(statements, persistenceId, Math.max(0, fromSequenceNr), toSequenceNr, Math.min(REPLAY_PAGE_SIZE, remaining), withHighest),
  );
  let first = withHighest;
  while (next !== undefined) {
    let rows: ReplayRow[] = (await next).rows;
    next = undefined;
    if (first) {
      first = false;
      const marker = rows.findIndex((row) => row[1] === null);
      if (marker >= 0) {
        highest = toSafeNumber(rows[marker]![0], 'highest sequence_nr');
        rows = rows.filter((_, index) => index !== marker);
      }
    }
    const last = rows[rows.length - 1];
    const full = rows.length === Math.min(REPLAY_PAGE_SIZE, remaining);
    let lastSeq = 0;
    if (last !== undefined) lastSeq = toSafeNumber(last[0], 'sequence_nr');
    const left: number = remaining - rows.length;
    if (full && left > 0 && lastSeq < toSequenceNr) {
      next = pool.query<ReplayRow>(page(statements, persistenceId, lastSeq + 1, toSequenceNr, Math.min(REPLAY_PAGE_SIZE, left)));
      // If the consumer throws, the prefetched page must not surface as an unhandled rejection.
      next.catch(() => {});
    }
    for (const row of rows) {
      const event: PersistentRepr = {
        persistenceId,
        sequenceNr: toSafeNumber(row[0], 'sequence_nr'),
        writerUuid: row[1],
        timestamp: toSafeNumber(row[2], 'timestamp_ms'),
        serializerId: row[3],
        manifest: row[4],
        payload: payloadOf(row[5], row[6]),
        tags: row[7],
      };
      const result = onMessage(event);
      if (result !== undefined) await result;
    }
    if (lastSeq > highest) highest = lastSeq;
    remaining = left;
  }
  return highest;
}

export async function readHighest(pool: pg.Pool, statements: ReadStatements, persistenceId: string): Promise<number> {
  const result = await pool.query<{ highest: string }>({
    name: statements.highestName,
    text: statements.highest,
    values: [persistenceId],
  });
  return toSafeNumber(result.rows[0]?.highest ?? '0', 'highest sequence_nr');
}

export async function deleteTo(pool: pg.Pool, statements: ReadStatements, persistenceId: string, toSequenceNr: number): Promise<void> {
  await pool.query(statements.deleteTo, [persistenceId, toSequenceNr]);
}
