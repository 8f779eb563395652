/**
 * InnoDB hands out AUTO_INCREMENT values at insert, not at commit, so a reader could see a higher one
 * before a lower one and skip it for good. The journal's writers draw orderings while holding the
 * database's ordering lock, let go of only after a commit: these tests hold that lock with a
 * transaction open, interleave journal writes from two journals (two processes, as far as the server
 * can tell), and follow them with a live reader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { mysqlJournal, type MysqlJournal } from '../../../journal/mysql/index.js';
import { orderingLockName } from '../../../journal/mysql/ordering-lock.js';
import { type EventEnvelope, ReadJournal } from '../../../src/index.js';
import { eventualValue, waitUntil } from '../../support/eventually.js';
import { mysqlResource } from '../../support/services.js';
import { startWriter } from '../../crash/fixtures/writer-run.js';
import { endTransaction, openTransactionWithRow, pid, write } from './helpers.js';

const db = await mysqlResource('mysql_ordering');
afterAll(() => db?.cleanup());

async function orderingOf(persistenceId: string): Promise<number> {
  const [rows] = await db!.admin.query<RowDataPacket[]>('select ordering from journal where persistence_id = ? and sequence_nr = 1', [persistenceId]);
  return Number(rows[0]!.ordering);
}

describe.runIf(db)('MySQL global ordering', () => {
  let journal: MysqlJournal;

  beforeAll(async () => {
    journal = mysqlJournal({ connectionString: db!.connectionString });
    await journal.start();
  });
  afterAll(() => journal?.close());

  it('a write waits for an open transaction that drew an ordering, and a live reader yields both in commit order', async () => {
    const late = pid('late');
    const early = pid('early');
    const tag = pid('gap');
    const reader = mysqlJournal({ connectionString: db!.connectionString });
    const connection = await db!.admin.getConnection();
    const signal = AbortSignal.timeout(30_000);
    try {
      await reader.start();
      const seen: EventEnvelope[] = [];
      const following = (async () => {
        for await (const envelope of new ReadJournal(reader.queries(), () => [null]).eventsByTag(tag, 0, { signal })) {
          seen.push(envelope);
          if (seen.length === 2) return;
        }
      })();
      const lateOrdering = await openTransactionWithRow(connection, db!.database, late, tag);
      const pending = journal.writeMessages([write(early, 1, 1, { tags: [tag] })]);
      // The journal's flush queues behind the ordering lock instead of drawing an ordering now: its
      // GET_LOCK is the statement its session is running (the open transaction's session sleeps).
      await eventualValue(async () => {
        const [waits] = await db!.admin.query<RowDataPacket[]>("select 1 from information_schema.processlist where db = ? and info like '%get_lock%' and id <> connection_id()", [
          db!.database,
        ]);
        return waits.length > 0 ? true : undefined;
      }, "the journal's flush waiting for the counter row");
      expect(seen).toEqual([]);
      await endTransaction(connection, db!.database, 'commit');
      expect((await pending)[0]!.status).toBe('ok');
      await following;
      expect(await orderingOf(early)).toBeGreaterThan(lateOrdering);
      expect(seen.map((e) => [e.persistenceId, e.offset])).toEqual([
        [late, lateOrdering],
        [early, await orderingOf(early)],
      ]);
    } finally {
      await endTransaction(connection, db!.database, 'rollback').catch(() => {});
      connection.release();
      await reader.close();
    }
  });

  it('a rolled-back transaction gives its orderings back: no hole, nothing skipped', async () => {
    const rolledBack = pid('rolled-back');
    const after = pid('after');
    const connection = await db!.admin.getConnection();
    try {
      const drawn = await openTransactionWithRow(connection, db!.database, rolledBack, 'none');
      await endTransaction(connection, db!.database, 'rollback');
      expect((await journal.writeMessages([write(after, 1)]))[0]!.status).toBe('ok');
      expect(await orderingOf(after)).toBe(drawn);
    } finally {
      connection.release();
    }
  });

  it('a live eventsByTag reader yields every event of two concurrent journals and a slow committer exactly once, in offset order', async () => {
    const second = mysqlJournal({ connectionString: db!.connectionString });
    const reader = mysqlJournal({ connectionString: db!.connectionString });
    await Promise.all([second.start(), reader.start()]);
    const writers = Array.from({ length: 20 }, (_, i) => pid(`follow-${i}`));
    const slow = Array.from({ length: 15 }, (_, i) => pid(`slow-${i}`));
    const tag = pid('follow-tag');
    const perWriter = 25;
    const total = writers.length * perWriter + slow.length;
    const seen: EventEnvelope[] = [];
    const signal = AbortSignal.timeout(90_000);
    const connection = await db!.admin.getConnection();
    try {
      const following = (async () => {
        // The reader's journal gets no in-process wake-up: it finds the rows by polling, small pages.
        for await (const envelope of new ReadJournal(reader.queries(), () => [null], { pageSize: 37 }).eventsByTag(tag, 0, { signal })) {
          seen.push(envelope);
          if (seen.length === total) return;
        }
      })();
      // Holds each of its transactions open across several journal flushes before committing, so that
      // commits would come out of ordering order if orderings were drawn at insert.
      const slowCommitter = (async () => {
        for (const id of slow) {
          await openTransactionWithRow(connection, db!.database, id, tag);
          await new Promise((resolve) => setTimeout(resolve, 15));
          await endTransaction(connection, db!.database, 'commit');
        }
      })();
      await Promise.all([
        slowCommitter,
        ...writers.map(async (id, index) => {
          const target = index % 2 === 0 ? journal : second;
          for (let nr = 1; nr <= perWriter; nr++) expect((await target.writeMessages([write(id, nr, nr, { tags: [tag] })]))[0]!.status).toBe('ok');
        }),
      ]);
      await following;
    } finally {
      await endTransaction(connection, db!.database, 'rollback').catch(() => {});
      connection.release();
      await Promise.all([second.close(), reader.close()]);
    }
    expect(new Set(seen.map((e) => `${e.persistenceId}/${e.sequenceNr}`)).size).toBe(total);
    const offsets = seen.map((e) => e.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    for (const id of writers) {
      expect(seen.filter((e) => e.persistenceId === id).map((e) => e.sequenceNr)).toEqual(Array.from({ length: perWriter }, (_, i) => i + 1));
    }
    // The current query over the same range agrees with what the live one yielded.
    const current: EventEnvelope[] = [];
    for await (const envelope of new ReadJournal(journal.queries(), () => [null]).currentEventsByTag(tag, 0)) current.push(envelope);
    expect(current.map((e) => e.offset)).toEqual(offsets);
  });
  it('deleting the newest events never hands their orderings out again (a reader may have seen them)', async () => {
    const deleted = pid('deleted-top');
    const next = pid('after-delete');
    expect((await journal.writeMessages([write(deleted, 1, 3)]))[0]!.status).toBe('ok');
    const [rows] = await db!.admin.query<RowDataPacket[]>('select max(ordering) as top from journal');
    const top = Number(rows[0]!.top);
    await journal.deleteMessagesTo(deleted, 3);
    // A new journal (another process, as far as the server can tell) draws from what is left after the delete.
    const other = mysqlJournal({ connectionString: db!.connectionString });
    try {
      expect((await other.writeMessages([write(next, 1)]))[0]!.status).toBe('ok');
    } finally {
      await other.close();
    }
    expect(await orderingOf(next)).toBe(top + 1);
  });

  it('an idle writer lets the ordering lock go; a writer session killed while holding it frees it for the others', async () => {
    const lock = orderingLockName(db!.database);
    const isFree = async (): Promise<boolean> => {
      const [rows] = await db!.admin.query<RowDataPacket[]>('select is_free_lock(?) as free', [lock]);
      return Number(rows[0]!.free) === 1;
    };
    expect((await journal.writeMessages([write(pid('idle'), 1)]))[0]!.status).toBe('ok');
    await waitUntil('the idle writer released the ordering lock', isFree, 5_000, 5);

    const busy = mysqlJournal({ connectionString: db!.connectionString });
    const id = pid('killed-holder');
    let stop = false;
    let written = 0;
    const failures: unknown[] = [];
    try {
      const writing = (async () => {
        for (let nr = 1; !stop; ) {
          try {
            if ((await busy.writeMessages([write(id, nr)]))[0]!.status === 'ok') nr++;
            written = nr - 1;
          } catch (error) {
            failures.push(error);
            // The write may have committed before the session ended: its number is then taken.
            nr = (await busy.readHighestSequenceNr(id, 0)) + 1;
          }
        }
      })();
      await waitUntil('the busy writer wrote', () => written > 20, 10_000, 5);
      // The busy writer holds the lock across its flushes (it lets go for a moment every turn).
      const holder = await eventualValue(async () => {
        const [rows] = await db!.admin.query<RowDataPacket[]>('select is_used_lock(?) as holder', [lock]);
        return rows[0]!.holder === null ? undefined : Number(rows[0]!.holder);
      }, 'the busy writer holding the ordering lock');
      await db!.admin.query(`kill ${holder}`);
      // The others write at once (not after a lock wait), and the killed writer goes on on a new session.
      const started = Date.now();
      expect((await journal.writeMessages([write(pid('after-kill'), 1)]))[0]!.status).toBe('ok');
      expect(Date.now() - started).toBeLessThan(5_000);
      const before = written;
      await waitUntil('the killed writer wrote again', () => written > before + 20, 10_000, 5);
      stop = true;
      await writing;
    } finally {
      stop = true;
      await busy.close();
    }
    expect(failures.length).toBeLessThanOrEqual(1);
    const [rows] = await db!.admin.query<RowDataPacket[]>('select count(*) as n, max(sequence_nr) as top from journal where persistence_id = ?', [id]);
    expect(Number(rows[0]!.n)).toBe(Number(rows[0]!.top));
  });
  it('a second process writing at the same time: a live reader yields every tagged event of both exactly once, in offset order', { timeout: 60_000 }, async () => {
    // The crash tests' writer process tags every seventh event 'seventh' (test/crash/fixtures/journal-writer.ts).
    const tag = 'seventh';
    const reader = mysqlJournal({ connectionString: db!.connectionString });
    await reader.start();
    const seen: EventEnvelope[] = [];
    const stop = new AbortController();
    const following = (async () => {
      for await (const envelope of new ReadJournal(reader.queries(), () => [null], { pageSize: 37 }).eventsByTag(tag, 0, { signal: stop.signal })) seen.push(envelope);
    })().catch((error: unknown) => {
      if (!stop.signal.aborted) throw error;
    });
    const child = startWriter('test/crash/fixtures/mysql-writer.ts', [db!.connectionString, '8']);
    try {
      await child.when(() => child.ackCount > 100);
      const ids = Array.from({ length: 10 }, (_, i) => pid(`parent-${i}`));
      await Promise.all(
        ids.map(async (id) => {
          for (let nr = 1; nr <= 30; nr++) expect((await journal.writeMessages([write(id, nr, nr, { tags: [tag] })]))[0]!.status).toBe('ok');
        }),
      );
      expect(child.ackCount).toBeGreaterThan(100);
    } finally {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    expect(child.failures).toEqual([]);
    const [rows] = await db!.admin.query<RowDataPacket[]>('select count(*) as n from event_tags where tag = ?', [tag]);
    const stored = Number(rows[0]!.n);
    try {
      await waitUntil('the live reader caught up', () => seen.length >= stored, 30_000, 20);
      // A moment more: a duplicate would arrive now.
      await new Promise((resolve) => setTimeout(resolve, 600));
    } finally {
      stop.abort();
      await following;
      await reader.close();
    }
    expect(seen.length).toBe(stored);
    expect(new Set(seen.map((e) => `${e.persistenceId}/${e.sequenceNr}`)).size).toBe(stored);
    // Both processes' events (the child's streams are crash-0 ... crash-7).
    expect(seen.filter((e) => e.persistenceId.startsWith('parent-')).length).toBe(300);
    expect(seen.some((e) => e.persistenceId.startsWith('crash-'))).toBe(true);
    const offsets = seen.map((e) => e.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  });
});
