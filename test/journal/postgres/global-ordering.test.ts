import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { postgresJournal, type OrderedEvent, type PostgresJournal } from '../../../journal/postgres/index.js';
import { advisoryLockKey } from '../../../journal/postgres/sql-names.js';
import { eventualValue } from '../../support/eventually.js';
import { postgresResource } from '../../support/services.js';
import { appName, pid, write } from './helpers.js';

const pgr = await postgresResource('pg_ordering');
afterAll(() => pgr?.cleanup());

describe.runIf(pgr)('global ordering (readAllEvents / readEventsByTag)', () => {
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
      const all = await journal.readAllEvents({ fromOrdering: lateOrdering });
      expect(all.filter((e) => e.ordering >= lateOrdering)).toEqual([]);
      expect(await journal.readEventsByTag('gap', { fromOrdering: lateOrdering })).toEqual([]);

      await client.query('commit');
      const after = await eventualValue(async () => {
        const events = await journal.readAllEvents({ fromOrdering: lateOrdering });
        return events.length >= 2 ? events : undefined;
      }, 'both events once the late transaction committed');
      expect(after.slice(0, 2).map((e: OrderedEvent) => [e.persistenceId, e.ordering])).toEqual([
        [late, lateOrdering],
        [early, committedOrdering],
      ]);
      const tagged = await journal.readEventsByTag('gap', { fromOrdering: lateOrdering });
      expect(tagged.map((e) => e.persistenceId)).toEqual([late, early]);
    } finally {
      await client.query('rollback').catch(() => {});
      client.release();
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

  it('delivers every event exactly once to a reader that follows concurrent writers', async () => {
    const writers = Array.from({ length: 20 }, (_, i) => pid(`follow-${i}`));
    const tag = pid('follow-tag');
    const start = (await journal.readAllEvents({ fromOrdering: 0, limit: 1_000_000 })).at(-1)?.ordering ?? 0;
    let done = false;
    const writing = Promise.all(
      writers.map(async (id) => {
        for (let nr = 1; nr <= 25; nr++) {
          expect((await journal.writeMessages([write(id, nr, nr, { tags: [tag] })]))[0]!.status).toBe('ok');
        }
      }),
    ).finally(() => {
      done = true;
    });
    const seen: OrderedEvent[] = [];
    let next = start + 1;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`reader saw ${seen.length} of ${writers.length * 25} events`);
      const finished = done;
      const batch = await journal.readEventsByTag(tag, { fromOrdering: next, limit: 37 });
      seen.push(...batch);
      if (batch.length > 0) next = batch[batch.length - 1]!.ordering + 1;
      if (finished && seen.length >= writers.length * 25) break;
      if (finished && batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writing;
    expect(seen.length).toBe(writers.length * 25);
    expect(new Set(seen.map((e) => `${e.persistenceId}/${e.sequenceNr}`)).size).toBe(writers.length * 25);
    for (const id of writers) {
      expect(seen.filter((e) => e.persistenceId === id).map((e) => e.sequenceNr)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    }
  });
});
