import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { orderingLockName } from '../../../journal/mysql/ordering-lock.js';

export { event, pid, write } from '../postgres/helpers.js';

/**
 * Plays another writer in the middle of its transaction, following the journal's protocol
 * (journal/mysql/ordering-lock.ts): takes the database's ordering lock, draws the next ordering, inserts
 * a tagged row in a transaction it leaves open. `endTransaction` commits or rolls back, then lets the
 * lock go.
 */
export async function openTransactionWithRow(connection: PoolConnection, database: string, persistenceId: string, tag: string): Promise<number> {
  const [locked] = await connection.query<RowDataPacket[]>('select get_lock(?, 50) as locked', [orderingLockName(database)]);
  if (Number(locked[0]!.locked) !== 1) throw new Error('the ordering lock was not granted');
  const [rows] = await connection.query<RowDataPacket[]>(
    `select greatest(coalesce((select max(ordering) from journal), 0), (select last_ordering from journal_sequence where id = 1)) + 1 as ordering`,
  );
  const ordering = Number(rows[0]!.ordering);
  await connection.query('start transaction');
  await connection.query(
    `insert into journal (ordering, persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, tags)
     values (?, ?, 1, 'raw', 0, 'json', 'M', '{}', ?)`,
    [ordering, persistenceId, JSON.stringify([tag])],
  );
  await connection.query('insert into event_tags (tag, ordering) values (?, ?)', [tag, ordering]);
  return ordering;
}

export async function endTransaction(connection: PoolConnection, database: string, end: 'commit' | 'rollback'): Promise<void> {
  await connection.query(end);
  await connection.query('do release_lock(?)', [orderingLockName(database)]);
}
