import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

export { event, pid, write } from '../postgres/helpers.js';

/**
 * Plays another writer in the middle of its transaction, following the journal's protocol: draws one
 * ordering from the counter row (holding its lock until commit or rollback), inserts a tagged row.
 */
export async function openTransactionWithRow(connection: PoolConnection, persistenceId: string, tag: string): Promise<number> {
  await connection.query('start transaction');
  await connection.query('update journal_sequence set last_ordering = last_insert_id(last_ordering + 1) where id = 1');
  await connection.query(
    `insert into journal (ordering, persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, tags)
     values (last_insert_id(), ?, 1, 'raw', 0, 'json', 'M', '{}', ?)`,
    [persistenceId, JSON.stringify([tag])],
  );
  await connection.query('insert into event_tags (tag, ordering) values (?, last_insert_id())', [tag]);
  const [rows] = await connection.query<RowDataPacket[]>('select last_insert_id() as ordering');
  return Number(rows[0]!.ordering);
}
