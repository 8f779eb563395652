import { type AtomicWrite, EventRejectedError, SequenceNrConflictError, WRITE_OK, type WriteOutcome } from '../../src/persistence/spi.js';
import type pg from 'pg';
import { byteaArray, intArray, tagsLiteral, textArray } from './array-literal.js';
import { isContentError, sqlState } from './pool.js';
import type { PostgresLogger } from './options.js';
import type { WriterConnection } from './writer-connection.js';

const UNIQUE_VIOLATION = '23505';
/** Between the JSON payloads of a batch (chr(30) in the statements). */
const PAYLOAD_SEPARATOR = '\u001e';

/** Statements of the write path, built once per schema. */
export interface WriteStatements {
  readonly lockKey: string;
  readonly insertPlain: string;
  readonly insertTagged: string;
  /** One event without tags: the most common flush of a lightly loaded journal, no arrays to parse. */
  readonly insertSingle: string;
  /** Names for server-side prepared statements; distinct per schema since one pool may serve several. */
  readonly plainName: string;
  readonly taggedName: string;
  readonly singleName: string;
}

export function writeStatements(schema: string, lockKey: string, statementId: string, notifyChannel?: string): WriteStatements {
  // The notification for live queries in other processes, sent with the commit (see notifications.ts).
  const notify = notifyChannel === undefined ? '' : ` and (select pg_notify('${notifyChannel}', '')) is not null`;
  // The scalar sub-select becomes a one-time filter evaluated before the first row is produced, so the
  // schema-wide writer lock is held before any `ordering` value is drawn, until commit. Writers are thus
  // serialized per schema, which makes `ordering` increase in commit order: a reader that has seen
  // ordering n can never later see a smaller one appear (see README, "ordering guarantees").
  // unnest pads shorter arrays with NULLs, so a batch without binary (or without JSON) payloads sends an
  // empty array (or NULL) for that column; a batch without tags leaves the column to its default.
  // The JSON payloads travel as one text, joined by U+001E, which valid JSON never holds (control
  // characters must be escaped in its strings and are not whitespace outside them; invalidReason
  // refuses a payload that holds one): no per-payload escaping as an array literal would need, on
  // either side. An empty element is a binary payload's row (NULL); no JSON text is empty either.
  const insert = (tagged: boolean): string => `
    insert into ${schema}.journal
      (persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes${tagged ? ', tags' : ''})
    select u.p, u.s, u.w, u.t, u.si, u.m, u.j, u.b${tagged ? ', u.tg::text[]' : ''}
    from unnest($2::text[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], string_to_array($8::text, chr(30), '')::jsonb[], $9::bytea[]${tagged ? ', $10::text[]' : ''})
      as u(p, s, w, t, si, m, j, b${tagged ? ', tg' : ''})
    where (select pg_advisory_xact_lock($1::int8)) is not null${notify}`;
  return {
    lockKey,
    insertPlain: insert(false),
    insertTagged: `
      with ins as (${insert(true)} returning ordering, tags)
      insert into ${schema}.event_tags (tag, ordering)
      select distinct t.tag, ins.ordering from ins, unnest(ins.tags) as t(tag)`,
    insertSingle: `
      insert into ${schema}.journal
        (persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes)
      select $2::text, $3::int8, $4::text, $5::int8, $6::text, $7::text, $8::jsonb, $9::bytea
      where (select pg_advisory_xact_lock($1::int8)) is not null${notify}`,
    // Two journals on one pool may differ in notifying: the texts differ, so must the names.
    plainName: `steadfast_write_${statementId}${notify ? '_n' : ''}`,
    singleName: `steadfast_write_single_${statementId}${notify ? '_n' : ''}`,
    taggedName: `steadfast_write_tagged_${statementId}${notify ? '_n' : ''}`,
  };
}

interface Columns {
  pids: string[];
  seqs: number[];
  writers: string[];
  timestamps: number[];
  serializers: string[];
  manifests: string[];
  jsons: (string | null)[];
  bytes: (Uint8Array | null)[];
  tags: string[];
  tagged: boolean;
  binary: boolean;
  text: boolean;
}

function emptyColumns(): Columns {
  return { pids: [], seqs: [], writers: [], timestamps: [], serializers: [], manifests: [], jsons: [], bytes: [], tags: [], tagged: false, binary: false, text: false };
}

/** Checks in JS what PostgreSQL would only report as an opaque failure of the whole batch. */
function invalidReason(write: AtomicWrite): string | undefined {
  let expected = -1;
  for (const event of write.events) {
    if (event.persistenceId !== write.persistenceId) return `event of "${event.persistenceId}" inside a write of another persistenceId`;
    if (!Number.isSafeInteger(event.sequenceNr) || event.sequenceNr < 1) return `sequenceNr ${String(event.sequenceNr)} is not a positive safe integer`;
    if (expected !== -1 && event.sequenceNr !== expected) return `sequence numbers are not consecutive at ${event.sequenceNr}`;
    expected = event.sequenceNr + 1;
    if (!Number.isSafeInteger(event.timestamp)) return `timestamp ${String(event.timestamp)} is not an integer`;
    if (typeof event.payload === 'string') {
      // Not JSON, and it would break the joined payload text apart (see writeStatements).
      if (event.payload.length === 0 || event.payload.includes(PAYLOAD_SEPARATOR)) return 'payload is not JSON (empty, or holds the control character U+001E)';
    } else if (!(event.payload instanceof Uint8Array)) {
      return 'payload is neither a string nor a Uint8Array';
    }
  }
  return undefined;
}

function addWrite(columns: Columns, write: AtomicWrite): void {
  for (const event of write.events) {
    columns.pids.push(event.persistenceId);
    columns.seqs.push(event.sequenceNr);
    columns.writers.push(event.writerUuid);
    columns.timestamps.push(event.timestamp);
    columns.serializers.push(event.serializerId);
    columns.manifests.push(event.manifest);
    if (typeof event.payload === 'string') {
      columns.jsons.push(event.payload);
      columns.bytes.push(null);
      columns.text = true;
    } else {
      columns.jsons.push(null);
      columns.bytes.push(event.payload);
      columns.binary = true;
    }
    columns.tags.push(tagsLiteral(event.tags));
    if (event.tags.length > 0) columns.tagged = true;
  }
}

function insertQuery(statements: WriteStatements, columns: Columns): pg.QueryConfig {
  if (columns.pids.length === 1 && !columns.tagged) {
    return {
      name: statements.singleName,
      text: statements.insertSingle,
      values: [
        statements.lockKey,
        columns.pids[0],
        columns.seqs[0],
        columns.writers[0],
        columns.timestamps[0],
        columns.serializers[0],
        columns.manifests[0],
        columns.jsons[0],
        columns.bytes[0],
      ],
    };
  }
  const values = [
    statements.lockKey,
    textArray(columns.pids),
    intArray(columns.seqs),
    textArray(columns.writers),
    intArray(columns.timestamps),
    textArray(columns.serializers),
    textArray(columns.manifests),
    // join writes null (a binary payload's row) as the empty element.
    columns.text ? columns.jsons.join(PAYLOAD_SEPARATOR) : null,
    columns.binary ? byteaArray(columns.bytes) : '{}',
  ];
  if (columns.tagged) values.push(textArray(columns.tags));
  return {
    name: columns.tagged ? statements.taggedName : statements.plainName,
    text: columns.tagged ? statements.insertTagged : statements.insertPlain,
    values,
  };
}

/**
 * Stores a group-commit batch. Happy path: one multi-row INSERT, one round trip, atomic on its own. If
 * PostgreSQL refuses the content of some write (a sequence conflict, a string payload that is not JSON),
 * the batch is redone write by write under savepoints in one transaction, so only the offending writes
 * fail. Connection and server errors reject the whole call: nothing of it was committed, or (when the
 * connection broke during COMMIT) the outcome is unknown — the at-least-once ambiguity every database
 * client has; a retry then meets the primary key and fails instead of duplicating.
 */
export async function storeBatch(writer: WriterConnection, statements: WriteStatements, writes: readonly AtomicWrite[], logger: PostgresLogger): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = new Array<WriteOutcome>(writes.length).fill(WRITE_OK);
  const columns = emptyColumns();
  const stored: number[] = [];
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    if (write.events.length === 0) continue;
    const reason = invalidReason(write);
    if (reason !== undefined) {
      outcomes[i] = { status: 'rejected', cause: new EventRejectedError(write.persistenceId, reason) };
      continue;
    }
    addWrite(columns, write);
    stored.push(i);
  }
  if (stored.length === 0) return outcomes;
  try {
    await writer.use((client) => client.query(insertQuery(statements, columns)), isContentError);
    return outcomes;
  } catch (error) {
    if (!isContentError(error)) throw error;
    logger.debug({ err: error, writes: stored.length }, 'steadfast/postgres: batch refused, isolating its writes');
  }
  await writer.use(
    (client) => storeIsolated(client, statements, writes, stored, outcomes),
    () => false,
  );
  return outcomes;
}

async function storeIsolated(
  client: pg.PoolClient,
  statements: WriteStatements,
  writes: readonly AtomicWrite[],
  indexes: readonly number[],
  outcomes: WriteOutcome[],
): Promise<void> {
  await client.query('begin');
  try {
    // Taken before any insert so that this transaction orders with other writers like a batch does.
    await client.query('select pg_advisory_xact_lock($1::int8)', [statements.lockKey]);
    for (const i of indexes) {
      const write = writes[i]!;
      const columns = emptyColumns();
      addWrite(columns, write);
      await client.query('savepoint steadfast_write');
      try {
        await client.query(insertQuery(statements, columns));
        await client.query('release savepoint steadfast_write');
      } catch (error) {
        if (!isContentError(error)) throw error;
        await client.query('rollback to savepoint steadfast_write');
        outcomes[i] = outcomeFor(write, error);
      }
    }
    await client.query('commit');
  } catch (error) {
    // If the connection is gone the rollback fails too; the caller retires the connection either way.
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

function outcomeFor(write: AtomicWrite, error: unknown): WriteOutcome {
  const from = write.events[0]!.sequenceNr;
  const to = write.events[write.events.length - 1]!.sequenceNr;
  if (sqlState(error) === UNIQUE_VIOLATION && (error as { constraint?: string }).constraint === 'journal_pk') {
    return { status: 'failed', cause: new SequenceNrConflictError(write.persistenceId, from, to, { cause: error }) };
  }
  return { status: 'rejected', cause: new EventRejectedError(write.persistenceId, `refused by PostgreSQL: ${(error as Error).message}`, { cause: error }) };
}
