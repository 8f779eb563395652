import { type AtomicWrite, EventRejectedError, SequenceNrConflictError, WRITE_OK, type WriteOutcome } from '../../src/persistence/spi.js';
import type { Connection } from 'mysql2/promise';
import { errnoOf, isContentError } from './pool.js';
import type { MysqlLogger } from './options.js';
import { bufferOf, tagsColumn } from './row-codec.js';
import type { OrderingLock } from './ordering-lock.js';
import type { WriterConnection } from './writer-connection.js';

const ER_DUP_ENTRY = 1062;
const COLUMNS = '(ordering, persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes, tags)';

/** Column limits of the schema (migrations.ts), checked here so that no server setting can cut a value. */
const MAX_ID_BYTES = 512;
const MAX_TAG_BYTES = 255;
const MAX_SHORT_CHARS = 255;
const MAX_MANIFEST_CHARS = 1024;

/** Checks in JS what the server would report as an opaque failure of the whole batch (or, not strict, truncate). */
function invalidReason(write: AtomicWrite): string | undefined {
  if (Buffer.byteLength(write.persistenceId, 'utf8') > MAX_ID_BYTES) return `persistenceId is longer than ${MAX_ID_BYTES} bytes`;
  let expected = -1;
  for (const event of write.events) {
    if (event.persistenceId !== write.persistenceId) return `event of "${event.persistenceId}" inside a write of another persistenceId`;
    if (!Number.isSafeInteger(event.sequenceNr) || event.sequenceNr < 1) return `sequenceNr ${String(event.sequenceNr)} is not a positive safe integer`;
    if (expected !== -1 && event.sequenceNr !== expected) return `sequence numbers are not consecutive at ${event.sequenceNr}`;
    expected = event.sequenceNr + 1;
    if (!Number.isSafeInteger(event.timestamp)) return `timestamp ${String(event.timestamp)} is not an integer`;
    if (typeof event.payload !== 'string' && !(event.payload instanceof Uint8Array)) return 'payload is neither a string nor a Uint8Array';
    if (event.writerUuid.length > MAX_SHORT_CHARS || event.serializerId.length > MAX_SHORT_CHARS) return `writerUuid and serializerId are limited to ${MAX_SHORT_CHARS} characters`;
    if (event.manifest.length > MAX_MANIFEST_CHARS) return `manifest is longer than ${MAX_MANIFEST_CHARS} characters`;
    for (const tag of event.tags) {
      if (Buffer.byteLength(tag, 'utf8') > MAX_TAG_BYTES) return `tag "${tag.slice(0, 40)}…" is longer than ${MAX_TAG_BYTES} bytes`;
    }
  }
  return undefined;
}

/** The rows of a flush (and their tags) with their orderings, as SQL and values. */
interface Statement {
  sql: string;
  values: unknown[];
  /** Orderings the statement hands out: `first` up to `first + count - 1`. */
  count: number;
  /** Two INSERTs (journal and event_tags), which need a transaction around them; else one autocommit INSERT. */
  tagged: boolean;
}

/** Orderings are drawn by the ordering lock's holder (ordering-lock.ts) and written as plain numbers. */
function insertStatement(journal: string, tagsTable: string, writes: readonly AtomicWrite[], first: number): Statement {
  const rows: string[] = [];
  const values: unknown[] = [];
  const tagRows: string[] = [];
  const tagValues: unknown[] = [];
  let ordering = first;
  for (const write of writes) {
    for (const event of write.events) {
      rows.push(`(${ordering}, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      const text = typeof event.payload === 'string';
      values.push(
        event.persistenceId,
        event.sequenceNr,
        event.writerUuid,
        event.timestamp,
        event.serializerId,
        event.manifest,
        text ? event.payload : null,
        text ? null : bufferOf(event.payload as Uint8Array),
        tagsColumn(event.tags),
      );
      for (const tag of new Set(event.tags)) {
        tagRows.push(`(?, ${ordering})`);
        tagValues.push(tag);
      }
      ordering++;
    }
  }
  let sql = `insert into ${journal} ${COLUMNS} values ${rows.join(',')}`;
  if (tagRows.length > 0) {
    sql += `;\ninsert into ${tagsTable} (tag, ordering) values ${tagRows.join(',')}`;
    values.push(...tagValues);
  }
  return { sql, values, count: ordering - first, tagged: tagRows.length > 0 };
}

export interface WriteTables {
  readonly journal: string;
  readonly tags: string;
}

export function writeTables(database: string): WriteTables {
  return { journal: `${database}.journal`, tags: `${database}.event_tags` };
}

/**
 * Stores a group-commit batch. Happy path: one round trip (a single INSERT when no event has tags),
 * under the ordering lock. If the server refuses the content of some write (a sequence conflict, a
 * value a column refuses), the batch is rolled back and redone write by write under savepoints in one
 * transaction, so only the offending writes fail. Connection and server errors reject the whole call:
 * nothing of it was committed, or (when the connection broke during COMMIT) the outcome is unknown; a
 * retry then meets the primary key.
 */
export async function storeBatch(writer: WriterConnection, tables: WriteTables, writes: readonly AtomicWrite[], logger: MysqlLogger): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = new Array<WriteOutcome>(writes.length).fill(WRITE_OK);
  const stored: number[] = [];
  const batch: AtomicWrite[] = [];
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    if (write.events.length === 0) continue;
    const reason = invalidReason(write);
    if (reason !== undefined) {
      outcomes[i] = { status: 'rejected', cause: new EventRejectedError(write.persistenceId, reason) };
      continue;
    }
    stored.push(i);
    batch.push(write);
  }
  if (stored.length === 0) return outcomes;
  try {
    await writer.use((connection, lock) => storeOnce(connection, lock, tables, batch), isContentError);
    return outcomes;
  } catch (error) {
    if (!isContentError(error)) throw error;
    logger.debug({ err: error, writes: stored.length }, 'steadfast/mysql: batch refused, isolating its writes');
  }
  await writer.use(
    (connection, lock) => storeIsolated(connection, lock, tables, writes, stored, outcomes),
    () => false,
  );
  return outcomes;
}

async function storeOnce(connection: Connection, lock: OrderingLock, tables: WriteTables, batch: readonly AtomicWrite[]): Promise<void> {
  const first = await lock.hold();
  let statement: Statement | undefined;
  let release = '';
  try {
    statement = insertStatement(tables.journal, tables.tags, batch, first);
    release = lock.releaseAfter();
    // A lone INSERT commits by itself (autocommit), before the release that may follow it.
    const sql = statement.tagged ? `start transaction;\n${statement.sql};\ncommit${release}` : `${statement.sql}${release}`;
    await connection.query(sql, statement.values);
  } catch (error) {
    lock.failed();
    // A failed statement leaves a transaction open on the server (a lone INSERT rolls back by itself).
    // If the connection is gone the rollback fails too; the caller retires the connection then.
    if (statement?.tagged !== false) await connection.query('rollback').catch(() => {});
    throw error;
  }
  lock.committed(statement.count, release !== '');
}

async function storeIsolated(
  connection: Connection,
  lock: OrderingLock,
  tables: WriteTables,
  writes: readonly AtomicWrite[],
  indexes: readonly number[],
  outcomes: WriteOutcome[],
): Promise<void> {
  const first = await lock.hold();
  let drawn = 0;
  try {
    await connection.query('start transaction');
    for (const i of indexes) {
      const write = writes[i]!;
      const statement = insertStatement(tables.journal, tables.tags, [write], first + drawn);
      try {
        await connection.query(`savepoint steadfast_write;\n${statement.sql};\nrelease savepoint steadfast_write`, statement.values);
        drawn += statement.count;
      } catch (error) {
        if (!isContentError(error)) throw error;
        // The refused write's orderings go to the next one: orderings stay gapless.
        await connection.query('rollback to savepoint steadfast_write');
        outcomes[i] = outcomeFor(write, error);
      }
    }
    await connection.query('commit');
  } catch (error) {
    lock.failed();
    await connection.query('rollback').catch(() => {});
    throw error;
  }
  lock.committed(drawn, false);
}

function outcomeFor(write: AtomicWrite, error: unknown): WriteOutcome {
  const from = write.events[0]!.sequenceNr;
  const to = write.events[write.events.length - 1]!.sequenceNr;
  // MariaDB names the key 'PRIMARY', MySQL 8 'journal.PRIMARY'.
  if (errnoOf(error) === ER_DUP_ENTRY && /for key '(?:[^']*\.)?PRIMARY'/.test((error as Error).message)) {
    return { status: 'failed', cause: new SequenceNrConflictError(write.persistenceId, from, to, { cause: error }) };
  }
  return { status: 'rejected', cause: new EventRejectedError(write.persistenceId, `refused by MySQL: ${(error as Error).message}`, { cause: error }) };
}
