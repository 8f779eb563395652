import { SCHEMA_VERSION } from '../../../journal/sqlite/schema.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteJournal, sqliteSnapshotStore } from '../../../journal/sqlite/index.js';
import { atomicWrite, jsonEvent, replayAll, sequenceNrs, writeEvents } from '../../../journal/testkit/fixtures.js';
import { InvalidOptionError } from '../../../src/actor/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `j${++files}.db`);

describe('sqliteJournal', () => {
  it('validates its options with messages naming the option', () => {
    expect(() => sqliteJournal({ path: '' })).toThrow(InvalidOptionError);
    expect(() => sqliteJournal({ path: '' })).toThrow(/option "path"/);
    expect(() => sqliteJournal({ path: 'x.db', synchronous: 'OFF' as 'FULL' })).toThrow(/option "synchronous"/);
    expect(() => sqliteJournal({ path: 'x.db', maxEventsPerTransaction: 0 })).toThrow(/option "maxEventsPerTransaction"/);
    expect(() => sqliteJournal({ path: 'x.db', transactionBudgetMs: 0 })).toThrow(/option "transactionBudgetMs"/);
    expect(() => sqliteJournal({ path: 'x.db', replayPageSize: 1.5 })).toThrow(/option "replayPageSize"/);
    expect(() => sqliteJournal({ path: 'x.db', lockTimeoutMs: -1 })).toThrow(/option "lockTimeoutMs"/);
    expect(() => sqliteSnapshotStore({ path: 'x.db', logger: {} as never })).toThrow(/option "logger"/);
  });

  it('keeps events, tags and the highest sequence number across a reopen, also after deleting every event', async () => {
    const path = freshPath();
    const first = sqliteJournal({ path });
    await first.writeMessages([{ persistenceId: 'a', events: [jsonEvent('a', 1, { tags: ['x', 'y'] }), jsonEvent('a', 2)] }, atomicWrite('b', 1, 4)]);
    await first.deleteMessagesTo('b', 10);
    await first.close();

    const second = sqliteJournal({ path });
    await second.start();
    const events = await replayAll(second, 'a');
    expect(sequenceNrs(events)).toEqual([1, 2]);
    expect(events[0]!.tags).toEqual(['x', 'y']);
    expect(await second.readHighestSequenceNr('b', 0)).toBe(4);
    expect(await replayAll(second, 'b')).toEqual([]);
    // The stream continues at 5, and a writer that starts over at 1 is refused.
    const outcomes = await second.writeMessages([atomicWrite('b', 1, 1), atomicWrite('b', 5, 5)]);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'ok']);
    await second.close();
  });

  it('stores WAL mode, the schema version and tags as a JSON column', async () => {
    const path = freshPath();
    const journal = sqliteJournal({ path });
    await journal.writeMessages([{ persistenceId: 't', events: [jsonEvent('t', 1, { tags: ['red'] }), jsonEvent('t', 2)] }]);
    await journal.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.prepare('SELECT sequence_nr, tags FROM journal_event ORDER BY sequence_nr').all()).toEqual([
        { sequence_nr: 1, tags: '["red"]' },
        { sequence_nr: 2, tags: null },
      ]);
      expect(db.prepare(`SELECT value FROM journal_event, json_each(journal_event.tags)`).pluck().all()).toEqual(['red']);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema with ERR_SCHEMA_VERSION', async () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    await expect(sqliteJournal({ path }).start()).rejects.toMatchObject({ code: 'ERR_SCHEMA_VERSION' });
  });

  it('refuses plugins on one file that disagree about synchronous', async () => {
    const path = freshPath();
    const journal = sqliteJournal({ path, synchronous: 'NORMAL' });
    await journal.start();
    await expect(sqliteSnapshotStore({ path }).start()).rejects.toThrow(/option "synchronous"/);
    await journal.close();
  });

  it('rejects use after close with ERR_PLUGIN_CLOSED, and waits for pending writes before closing', async () => {
    const journal = sqliteJournal({ path: freshPath() });
    const pending = journal.writeMessages([atomicWrite('c', 1, 3)]);
    await journal.close();
    expect((await pending).map((o) => o.status)).toEqual(['ok']);
    await expect(journal.writeMessages([atomicWrite('c', 4, 4)])).rejects.toMatchObject({ code: 'ERR_PLUGIN_CLOSED' });
    await expect(journal.readHighestSequenceNr('c', 0)).rejects.toMatchObject({ code: 'ERR_PLUGIN_CLOSED' });
  });

  it('replays large events in pages of about 8 MiB, so that a replay never holds hundreds of megabytes at once', async () => {
    const journal = sqliteJournal({ path: freshPath(), replayPageSize: 50 });
    const large = JSON.stringify({ text: 'x'.repeat(512 * 1024) });
    for (let from = 1; from <= 100; from += 25) {
      await journal.writeMessages([{ persistenceId: 'big', events: Array.from({ length: 25 }, (_, i) => jsonEvent('big', from + i, { payload: large })) }]);
    }
    // A page is read at once and handed out row by row; the replay yields to the event loop between pages.
    const pages: number[] = [];
    let sinceTurn = 0;
    let replaying = true;
    const turn = (): void => {
      if (sinceTurn > 0) pages.push(sinceTurn);
      sinceTurn = 0;
      if (replaying) setImmediate(turn);
    };
    setImmediate(turn);
    let replayed = 0;
    await journal.replayMessages('big', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
      replayed++;
      sinceTurn++;
    });
    replaying = false;
    turn();
    await journal.close();
    expect(replayed).toBe(100);
    // The first page is replayPageSize rows; once their size is known, 8 MiB / (512 KiB and a little) = 15 rows a page.
    expect(pages).toEqual([50, 15, 15, 15, 5]);
  });

  it('deletes a long prefix in chunks and keeps the rest', async () => {
    const journal = sqliteJournal({ path: freshPath() });
    await journal.writeMessages([atomicWrite('long', 1, 5000)]);
    await journal.deleteMessagesTo('long', 4990);
    expect(sequenceNrs(await replayAll(journal, 'long'))).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
    expect(await journal.readHighestSequenceNr('long', 0)).toBe(5000);
    await journal.close();
  });

  it('supports ":memory:" for throwaway use', async () => {
    const journal = sqliteJournal({ path: ':memory:' });
    await writeEvents(journal, 'm', 1, 2);
    expect(sequenceNrs(await replayAll(journal, 'm'))).toEqual([1, 2]);
    await journal.close();
  });
});
