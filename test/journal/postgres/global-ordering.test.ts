import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { postgresJournal, type PostgresJournal } from '../../../journal/postgres/index.js';
import type { EventEnvelope, JournalQueries, OrderedRepr } from '../../../src/index.js';
import { MAX_SEQUENCE_NR, ReadJournal } from '../../../src/index.js';
import { advisoryLockKey } from '../../../journal/postgres/sql-names.js';
import { eventualValue } from '../../support/eventually.js';
import { postgresResource } from '../../support/services.js';
import { appName, pid, write } from './helpers.js';

const pgr = await postgresResource('pg_ordering');
afterAll(() => pgr?.cleanup());

describe.runIf(pgr)('global ordering (the queries: all events, events by tag)', () => {
  let journal: PostgresJournal;
  let schema: string;
  let application: string;

  beforeAll(async () => {
    schema = pgr!.schema;
    application = appName('ordering');
    journal = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: application });
    await journal.start();
  });
  afterAll(() => journal?.close());

  async function openTransactionWithRow(client: pg.PoolClient, persistenceId: string, takeWriterLock: boolean): Promise<number> {
    await client.query('begin');
    if (takeWriterLock) await client.query('select pg_advisory_xact_lock($1::int8)', [advisoryLockKey('write', schema)]);
    const inserted = await client.query<{ ordering: string }>(
      `insert into "${schema}".journal (persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, tags)
       values ($1, 1, 'raw', 0, 'json', 'M', '{}', '{gap}') returning ordering`,
      [persistenceId],
    );
    await client.query(`insert into "${schema}".event_tags (tag, ordering) values ('gap', $1)`, [inserted.rows[0]!.ordering]);
    return Number(inserted.rows[0]!.ordering);
  }

  it('never returns an event past a lower ordering whose transaction has not committed yet', async () => {
    const late = pid('late');
    const early = pid('early');
    const client = await pgr!.admin.connect();
    try {
      // A writer that does not take the journal's lock (e.g. a migration tool): it holds a low ordering open.
      const lateOrdering = await openTransactionWithRow(client, late, false);
      expect((await journal.writeMessages([write(early, 1, 1, { tags: ['gap'] })]))[0]!.status).toBe('ok');
      const committedOrdering = Number((await pgr!.admin.query(`select ordering from "${schema}".journal where persistence_id = $1`, [early])).rows[0].ordering);
      expect(committedOrdering).toBeGreaterThan(lateOrdering);

      // The later row is committed and visible to plain SQL ...
      expect((await pgr!.admin.query(`select 1 from "${schema}".journal where persistence_id = $1`, [early])).rowCount).toBe(1);
      // ... but the queries stop before the open transaction's position, so a reader cannot skip it.
      const queries = journal.queries();
      const all = await queries.allEvents(lateOrdering - 1, MAX_SEQUENCE_NR, 1000);
      expect(all.filter((e) => e.offset >= lateOrdering)).toEqual([]);
      expect(await queries.eventsByTag('gap', lateOrdering - 1, MAX_SEQUENCE_NR, 1000)).toEqual([]);

      await client.query('commit');
      const after = await eventualValue(async () => {
        const events = await queries.allEvents(lateOrdering - 1, MAX_SEQUENCE_NR, 1000);
        return events.length >= 2 ? events : undefined;
      }, 'both events once the late transaction committed');
      expect(after.slice(0, 2).map((e: OrderedRepr) => [e.persistenceId, e.offset])).toEqual([
        [late, lateOrdering],
        [early, committedOrdering],
      ]);
      const tagged = await queries.eventsByTag('gap', lateOrdering - 1, MAX_SEQUENCE_NR, 1000);
      expect(tagged.map((e) => e.persistenceId)).toEqual([late, early]);
    } finally {
      await client.query('rollback').catch(() => {});
      client.release();
    }
  });

  it('a live by-tag query that stopped at an open transaction yields its row once it commits, with no later event to wake it', async () => {
    const late = pid('stall-late');
    const early = pid('stall-early');
    const tag = pid('stall');
    const reader = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: appName('stall-reader') });
    const client = await pgr!.admin.connect();
    try {
      await reader.start();
      // A writer bypassing the journal's lock holds a low ordering open; a journal write commits above it.
      await client.query('begin');
      const inserted = await client.query<{ ordering: string }>(
        `insert into "${schema}".journal (persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, tags)
         values ($1, 1, 'raw', 0, 'json', 'M', '{}', $2) returning ordering`,
        [late, `{${tag}}`],
      );
      await client.query(`insert into "${schema}".event_tags (tag, ordering) values ($1, $2)`, [tag, inserted.rows[0]!.ordering]);
      expect((await journal.writeMessages([write(early, 1, 1, { tags: [tag] })]))[0]!.status).toBe('ok');
      // Counts the query's page reads and the tailer's start, to commit only once both happened.
      const inner = reader.queries();
      let pages = 0;
      let tailerStarted = false;
      const counted: JournalQueries = {
        ...inner,
        pollIntervalMs: inner.pollIntervalMs,
        maxConcurrentStatements: inner.maxConcurrentStatements,
        eventsByTag: async (...args) => {
          const rows = await inner.eventsByTag(...args);
          pages++;
          return rows;
        },
        liveStartOffset: async () => {
          const offset = await inner.liveStartOffset!();
          tailerStarted = true;
          return offset;
        },
        eventsByPersistenceId: inner.eventsByPersistenceId.bind(inner),
        allEvents: inner.allEvents.bind(inner),
        persistenceIds: inner.persistenceIds.bind(inner),
        highestSequenceNr: inner.highestSequenceNr.bind(inner),
        highestOffset: inner.highestOffset.bind(inner),
        onEventsWritten: inner.onEventsWritten.bind(inner),
      };
      const iterator = new ReadJournal(counted, () => [null]).eventsByTag(tag, 0, { signal: AbortSignal.timeout(30_000) })[Symbol.asyncIterator]();
      const first = iterator.next();
      // The query has read (cut before the open row, so nothing) and waits; its tailer has started.
      await eventualValue(async () => (pages >= 1 && tailerStarted ? true : undefined), 'the first read and the tailer start');
      await client.query('commit');
      // Nothing else is written: only the tailer, which must not have started past the open row, can wake it.
      expect([(await first).value!.persistenceId, (await iterator.next()).value!.persistenceId]).toEqual([late, early]);
      await iterator.return?.();
    } finally {
      await client.query('rollback').catch(() => {});
      client.release();
      await reader.close();
    }
  });

  it('serializes writers per schema, so orderings are handed out in commit order', async () => {
    const first = pid('first');
    const second = pid('second');
    const client = await pgr!.admin.connect();
    try {
      // Plays a journal of another process in the middle of its flush: it holds the writer lock.
      const firstOrdering = await openTransactionWithRow(client, first, true);
      const pending = journal.writeMessages([write(second, 1)]);
      // The journal's flush must queue behind the lock instead of drawing an ordering now.
      await eventualValue(async () => {
        const waiting = await pgr!.admin.query(`select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and wait_event = 'advisory'`, [
          application,
        ]);
        return waiting.rowCount! > 0 ? true : undefined;
      }, "the journal's flush waiting for the writer lock");
      await client.query('commit');
      expect((await pending)[0]!.status).toBe('ok');
      const secondOrdering = Number((await pgr!.admin.query(`select ordering from "${schema}".journal where persistence_id = $1`, [second])).rows[0].ordering);
      expect(secondOrdering).toBeGreaterThan(firstOrdering);
    } finally {
      await client.query('rollback').catch(() => {});
      client.release();
    }
  });

  it('a live eventsByTag reader in another process yields every event of two concurrent writers exactly once', async () => {
    // Two writer journals (two processes, as far as PostgreSQL can tell) and a reader journal of its own:
    // the reader gets no in-process wake-up and finds the rows by polling, cut at the commit horizon.
    const second = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: appName('ordering-2') });
    const reader = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: appName('ordering-reader') });
    await Promise.all([second.start(), reader.start()]);
    const writers = Array.from({ length: 20 }, (_, i) => pid(`follow-${i}`));
    const tag = pid('follow-tag');
    const total = writers.length * 25;
    const seen: EventEnvelope[] = [];
    const signal = AbortSignal.timeout(60_000);
    try {
      const following = (async () => {
        for await (const envelope of new ReadJournal(reader.queries(), () => [null], { pageSize: 37 }).eventsByTag(tag, 0, { signal })) {
          seen.push(envelope);
          if (seen.length === total) return;
        }
      })();
      await Promise.all(
        writers.map(async (id, index) => {
          const target = index % 2 === 0 ? journal : second;
          for (let nr = 1; nr <= 25; nr++) expect((await target.writeMessages([write(id, nr, nr, { tags: [tag] })]))[0]!.status).toBe('ok');
        }),
      );
      await following;
    } finally {
      await Promise.all([second.close(), reader.close()]);
    }
    expect(new Set(seen.map((e) => `${e.persistenceId}/${e.sequenceNr}`)).size).toBe(total);
    const offsets = seen.map((e) => e.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    for (const id of writers) {
      expect(seen.filter((e) => e.persistenceId === id).map((e) => e.sequenceNr)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    }
  });
});
