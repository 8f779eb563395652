import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { EventRejectedError, PluginClosedError, postgresJournal, postgresSnapshotStore, SequenceNrConflictError, type PostgresJournal } from '../../../journal/postgres/index.js';
import type { PersistentRepr } from '../../../src/persistence/persistent-repr.js';
import { SnapshotMetadata } from '../../../src/persistence/snapshot-metadata.js';
import { SnapshotSelectionCriteria } from '../../../src/persistence/snapshot-selection-criteria.js';
import { postgresResource } from '../../support/services.js';
import { event, pid, write } from './helpers.js';

const pgr = await postgresResource('pg_journal');
afterAll(() => pgr?.cleanup());

async function replayAll(journal: PostgresJournal, persistenceId: string): Promise<PersistentRepr[]> {
  const events: PersistentRepr[] = [];
  await journal.replayMessages(persistenceId, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (e) => {
    events.push(e);
  });
  return events;
}

describe.runIf(pgr)('postgresJournal', () => {
  let journal: PostgresJournal;
  let schema: string;
  const q = (text: string, values: unknown[] = []) => pgr!.admin.query(text.replaceAll('$schema', `"${schema}"`), values);

  beforeAll(async () => {
    schema = pgr!.schema;
    journal = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: 'sf-test-journal' });
    await journal.start();
  });
  afterAll(() => journal?.close());

  it('refuses a second system writing the same persistenceId: the later write fails, nothing is merged', async () => {
    const other = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName: 'sf-test-journal-2' });
    await other.start();
    try {
      const id = pid('split-brain');
      expect((await journal.writeMessages([write(id, 1, 2)]))[0]!.status).toBe('ok');
      const outcome = (await other.writeMessages([write(id, 2, 3, { writerUuid: 'writer-2' })]))[0]!;
      expect(outcome.status).toBe('failed');
      const cause = (outcome as { cause: Error }).cause;
      expect(cause).toBeInstanceOf(SequenceNrConflictError);
      expect((cause as SequenceNrConflictError).code).toBe('ERR_SEQUENCE_NR_CONFLICT');
      expect(cause.message).toContain(`"${id}"`);
      expect(cause.message).toContain('2..3');
      const stored = await replayAll(other, id);
      expect(stored.map((e) => [e.sequenceNr, e.writerUuid])).toEqual([
        [1, 'writer-1'],
        [2, 'writer-1'],
      ]);
    } finally {
      await other.close();
    }
  });

  it('isolates a conflict inside one group-commit batch: only the conflicting write fails', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => pid(`batch-${i}`));
    await journal.writeMessages(ids.map((id) => write(id, 1)));
    const victim = ids[13]!;
    // Issued without awaiting, so that they travel in the same flush (one INSERT, then isolation).
    const calls = ids.map((id) => journal.writeMessages([id === victim ? write(id, 1, 2) : write(id, 2, 3)]));
    const outcomes = (await Promise.all(calls)).map((o) => o[0]!);
    expect(outcomes.map((o) => o.status)).toEqual(ids.map((id) => (id === victim ? 'failed' : 'ok')));
    // The victim's write was atomic: its second event (2) was not stored either.
    expect((await replayAll(journal, victim)).map((e) => e.sequenceNr)).toEqual([1]);
    for (const id of ids.filter((i) => i !== victim)) expect(await journal.readHighestSequenceNr(id, 0)).toBe(3);
  });

  it('rejects (not fails) a write whose string payload is not JSON, and stores the rest of the batch', async () => {
    const good = pid('good');
    const bad = pid('bad');
    const [ok, rejected] = await journal.writeMessages([write(good, 1), write(bad, 1, 1, { payload: 'not json' })]);
    expect(ok!.status).toBe('ok');
    expect(rejected!.status).toBe('rejected');
    expect((rejected as { cause: Error }).cause).toBeInstanceOf(EventRejectedError);
    expect(await journal.readHighestSequenceNr(bad, 0)).toBe(0);
    expect(await journal.readHighestSequenceNr(good, 0)).toBe(1);
  });

  it('rejects a JSON payload that jsonb cannot hold (\\u0000, a lone surrogate) and stores the rest of the batch', async () => {
    const good = pid('good-nul');
    const nul = pid('nul');
    const surrogate = pid('surrogate');
    const outcomes = await journal.writeMessages([
      write(nul, 1, 1, { payload: JSON.stringify({ text: 'a\u0000b' }) }),
      write(good, 1),
      write(surrogate, 1, 1, { payload: JSON.stringify({ text: '\ud800' }) }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'ok', 'rejected']);
    expect((outcomes[0] as { cause: Error }).cause).toBeInstanceOf(EventRejectedError);
    expect(await journal.readHighestSequenceNr(nul, 0)).toBe(0);
    expect(await journal.readHighestSequenceNr(surrogate, 0)).toBe(0);
    expect(await journal.readHighestSequenceNr(good, 0)).toBe(1);
  });

  it('keeps JSON and binary payloads of one batch on their own rows, and rejects a payload holding U+001E raw', async () => {
    const json = pid('json');
    const binary = pid('binary');
    const raw = pid('raw-separator');
    const escaped = JSON.stringify({ text: 'a\u001eb', empty: '' });
    const outcomes = await journal.writeMessages([
      write(json, 1, 2, { payload: escaped }),
      write(binary, 1, 1, { serializerId: 'bytes', payload: new Uint8Array([1, 2, 3]) }),
      // The control character itself, not its \u escape: not JSON, and it would split the batch's payload text.
      write(raw, 1, 1, { payload: '{"text":"a\u001eb"}' }),
      write(json, 3, 3, { payload: 'null' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'rejected', 'ok']);
    expect((outcomes[2] as { cause: Error }).cause).toBeInstanceOf(EventRejectedError);
    const stored = await replayAll(journal, json);
    expect(stored.map((e) => [e.sequenceNr, JSON.parse(e.payload as string)])).toEqual([
      [1, { text: 'a\u001eb', empty: '' }],
      [2, { text: 'a\u001eb', empty: '' }],
      [3, null],
    ]);
    expect([...((await replayAll(journal, binary))[0]!.payload as Uint8Array)]).toEqual([1, 2, 3]);
    expect(await journal.readHighestSequenceNr(raw, 0)).toBe(0);
  });

  it('rejects malformed writes before they reach the database', async () => {
    const id = pid('malformed');
    const outcomes = await journal.writeMessages([
      { persistenceId: id, events: [event(id, 1), event(id, 3)] },
      { persistenceId: id, events: [event('someone-else', 1)] },
      { persistenceId: id, events: [event(id, 2 ** 53)] },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await journal.readHighestSequenceNr(id, 0)).toBe(0);
  });

  it('stores JSON text in a jsonb column that SQL can query and index, and binary payloads as bytea', async () => {
    const id = pid('payloads');
    const bytes = new Uint8Array([0, 1, 2, 254, 255, 0]);
    await journal.writeMessages([
      {
        persistenceId: id,
        events: [event(id, 1, { payload: '{"kind":"deposit","amount":42,"nested":{"currency":"EUR"}}' }), event(id, 2, { payload: bytes, serializerId: 'bin' })],
      },
    ]);
    const json = await q(
      `select payload_json->>'kind' as kind, (payload_json->>'amount')::int as amount, payload_json#>>'{nested,currency}' as currency,
              payload_json @> '{"kind":"deposit"}' as contains, payload_bytes is null as no_bytes,
              pg_typeof(payload_json)::text as type
       from $schema.journal where persistence_id = $1 and sequence_nr = 1`,
      [id],
    );
    expect(json.rows[0]).toEqual({ kind: 'deposit', amount: 42, currency: 'EUR', contains: true, no_bytes: true, type: 'jsonb' });
    const bin = await q(`select payload_bytes, payload_json is null as no_json from $schema.journal where persistence_id = $1 and sequence_nr = 2`, [id]);
    expect([...(bin.rows[0] as { payload_bytes: Buffer }).payload_bytes]).toEqual([...bytes]);
    expect((bin.rows[0] as { no_json: boolean }).no_json).toBe(true);
    const replayed = await replayAll(journal, id);
    // jsonb hands back its own rendering of the value (keys reordered, spaces added), not the text written.
    expect(JSON.parse(replayed[0]!.payload as string)).toEqual({ kind: 'deposit', amount: 42, nested: { currency: 'EUR' } });
    expect([...(replayed[1]!.payload as Uint8Array)]).toEqual([...bytes]);
  });

  it("records each event's transaction id and a global ordering", async () => {
    const id = pid('meta');
    await journal.writeMessages([write(id, 1, 3)]);
    const rows = await q(`select ordering, tx_id::text as tx from $schema.journal where persistence_id = $1 order by sequence_nr`, [id]);
    const orderings = rows.rows.map((r: { ordering: string }) => Number(r.ordering));
    expect(orderings).toEqual([...orderings].sort((a, b) => a - b));
    expect(new Set(rows.rows.map((r: { tx: string }) => r.tx)).size).toBe(1);
  });

  it('keeps the highest sequence number after deleting every event, and refuses to reuse it', async () => {
    const id = pid('delete');
    await journal.writeMessages([write(id, 1, 5, { tags: ['deleted-tag'] })]);
    await journal.deleteMessagesTo(id, 100);
    expect(await replayAll(journal, id)).toEqual([]);
    expect(await journal.readHighestSequenceNr(id, 0)).toBe(5);
    expect((await q(`select count(*)::int as n from $schema.event_tags where tag = 'deleted-tag'`)).rows[0]).toEqual({ n: 0 });
    expect((await journal.writeMessages([write(id, 6)]))[0]!.status).toBe('ok');
    expect(await journal.readHighestSequenceNr(id, 0)).toBe(6);
  });

  it('answers the true highest sequence number even when the hint lies above it', async () => {
    const id = pid('hint');
    await journal.writeMessages([write(id, 1, 4)]);
    expect(await journal.readHighestSequenceNr(id, 10)).toBe(4);
    await journal.deleteMessagesTo(id, 2);
    expect(await journal.readHighestSequenceNr(id, 3)).toBe(4);
  });

  it('pages all events and events by tag in ordering order, resuming after an offset', async () => {
    const queries = journal.queries();
    const tag = pid('tag');
    const a = pid('tag-a');
    const b = pid('tag-b');
    await journal.writeMessages([write(a, 1, 1, { tags: [tag] }), write(b, 1, 1, { tags: ['other'] })]);
    await journal.writeMessages([write(a, 2, 2, { tags: [tag, tag] }), write(b, 2, 2, { tags: [tag] })]);
    // Bounded by the newest offset, as a current query is: an unbounded (live) page is cut at the
    // cluster's commit-order horizon, which any transaction of a parallel test file holds back.
    const newest = await queries.highestOffset();
    const tagged = await queries.eventsByTag(tag, 0, newest, 1000);
    expect(tagged.map((e) => [e.persistenceId, e.sequenceNr])).toEqual([
      [a, 1],
      [a, 2],
      [b, 2],
    ]);
    expect(tagged[1]!.tags).toEqual([tag, tag]);
    const orderings = tagged.map((e) => e.offset);
    expect(orderings).toEqual([...orderings].sort((x, y) => x - y));
    const rest = await queries.eventsByTag(tag, orderings[0]!, newest, 1);
    expect(rest.map((e) => e.offset)).toEqual([orderings[1]]);

    const all = await queries.allEvents(orderings[0]! - 1, newest, 10_000);
    const mine = all.filter((e) => e.persistenceId === a || e.persistenceId === b);
    expect(mine.map((e) => [e.persistenceId, e.sequenceNr])).toEqual([
      [a, 1],
      [b, 1],
      [a, 2],
      [b, 2],
    ]);
  });

  it('pings, refuses use after close, and never ends a pool it was given', async () => {
    const pool = new pg.Pool({ connectionString: pgr!.connectionString, max: 2 });
    try {
      const shared = postgresJournal({ pool, schema });
      const snapshots = postgresSnapshotStore({ pool, schema });
      await shared.ping();
      await snapshots.save(new SnapshotMetadata('s', 1, 1), { serializerId: 'json', manifest: 'S', payload: '{}' });
      await shared.close();
      await snapshots.close();
      await expect(shared.ping()).rejects.toBeInstanceOf(PluginClosedError);
      await expect(shared.writeMessages([write('x', 1)])).rejects.toBeInstanceOf(PluginClosedError);
      expect((await pool.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await pool.end();
    }
  });

  it('keeps snapshots of a shared pool in the same schema; saving again replaces', async () => {
    const store = postgresSnapshotStore({ pool: journal.pool, schema });
    const id = pid('snap');
    await store.save(new SnapshotMetadata(id, 5, 10), { serializerId: 'json', manifest: 'S', payload: '{"v":1}' });
    await store.save(new SnapshotMetadata(id, 5, 11), { serializerId: 'bin', manifest: 'S2', payload: new Uint8Array([9]) });
    const loaded = await store.load(id, SnapshotSelectionCriteria.latest);
    expect(loaded?.metadata).toEqual(new SnapshotMetadata(id, 5, 11));
    expect([...(loaded!.snapshot.payload as Uint8Array)]).toEqual([9]);
    expect((await q(`select count(*)::int as n from $schema.snapshots where persistence_id = $1`, [id])).rows[0]).toEqual({ n: 1 });
  });

  it('replays in pages and waits for each onMessage promise (stream longer than several pages)', async () => {
    const id = pid('pages');
    const total = 12_345;
    for (let from = 1; from <= total; from += 2000) await journal.writeMessages([write(id, from, Math.min(total, from + 1999))]);
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: number[] = [];
    await journal.replayMessages(id, 3, total - 2, Number.MAX_SAFE_INTEGER, async (e) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (e.sequenceNr % 1000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      seen.push(e.sequenceNr);
      inFlight--;
    });
    expect(maxInFlight).toBe(1);
    expect(seen.length).toBe(total - 4);
    expect(seen.every((nr, i) => nr === i + 3)).toBe(true);
    const limited: number[] = [];
    await journal.replayMessages(id, 1, total, 5001, (e) => {
      limited.push(e.sequenceNr);
    });
    expect(limited.length).toBe(5001);
    expect(limited[5000]).toBe(5001);
  });
});
