/**
 * A read journal in another process (`sqliteJournal({ path, readOnly: true })`): it opens the file
 * without the writer's lock, follows what the writer commits with live queries that poll, sees every
 * event exactly once, does not hold the writer up (the writer's WAL stays bounded while it reads), and
 * refuses every write by name.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteJournal } from '../../../journal/sqlite/index.js';
import { jsonEvent, replayAll, sequenceNrs, writeEvents } from '../../../journal/testkit/fixtures.js';
import { type EventEnvelope, readJournalOf, startProjection } from '../../../src/index.js';
import { testSystem } from '../../persistence/support/harness.js';
import { Child } from './child-process.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-readonly-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const WRITER = 'test/crash/fixtures/sqlite-follower-writer.ts';

/** Pulls `iterable` until `count` elements came, noting when the first one did. */
async function take(iterable: AsyncIterable<EventEnvelope>, count: number): Promise<{ envelopes: EventEnvelope[]; firstAt: number }> {
  const envelopes: EventEnvelope[] = [];
  let firstAt = 0;
  for await (const envelope of iterable) {
    if (envelopes.length === 0) firstAt = Date.now();
    envelopes.push(envelope);
    if (envelopes.length === count) break;
  }
  return { envelopes, firstAt };
}

function expectEachOnceInOrder(envelopes: readonly EventEnvelope[], expected: number): void {
  expect(envelopes).toHaveLength(expected);
  expect(new Set(envelopes.map((e) => `${e.persistenceId}#${e.sequenceNr}`)).size).toBe(expected);
  for (let i = 1; i < envelopes.length; i++) expect(envelopes[i]!.offset).toBeGreaterThan(envelopes[i - 1]!.offset);
  for (const e of envelopes) expect(e.event).toMatchObject({ persistenceId: e.persistenceId, sequenceNr: e.sequenceNr });
}

describe('sqlite: a read-only journal on a file another process writes', () => {
  it('follows the writer live, every event exactly once, without its lock and without holding it up', async () => {
    const path = join(dir, 'followed.db');
    const streams = 20;
    const perStream = 1000;
    const writer = new Child(WRITER, [path, String(streams), String(perStream)]);
    try {
      await writer.waitForLine((line) => line === 'ready');
      // The writer holds the lock now: a reader that needed it would fail here with ERR_JOURNAL_LOCKED.
      const journal = sqliteJournal({ path, readOnly: true, pollIntervalMs: 20 });
      await journal.start();
      expect(journal.queries().pollIntervalMs).toBe(20);
      const { system } = testSystem({ journal });
      const readJournal = readJournalOf(system);
      const total = streams * perStream;
      // Started (first pulled) before the writer writes: all they yield comes live, found by polling.
      const all = take(readJournal.allEvents(0), total);
      const third = take(readJournal.eventsByTag('third', 0), streams * Math.floor(perStream / 3));
      const one = take(readJournal.eventsByPersistenceId('s-7'), perStream);

      let largestWal = 0;
      const sampler = setInterval(() => {
        try {
          largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
        } catch {}
      }, 5);
      writer.process.stdin.write('go\n');
      expect(await writer.waitForLine((line) => line.startsWith('done'))).toBe(`done ${total}`);
      const doneAt = Date.now();
      const [allSeen, thirdSeen, oneSeen] = await Promise.all([all, third, one]);
      clearInterval(sampler);

      expectEachOnceInOrder(allSeen.envelopes, total);
      expectEachOnceInOrder(thirdSeen.envelopes, streams * Math.floor(perStream / 3));
      expect(thirdSeen.envelopes.every((e) => e.sequenceNr % 3 === 0 && e.tags.includes('third'))).toBe(true);
      expectEachOnceInOrder(oneSeen.envelopes, perStream);
      expect(oneSeen.envelopes.map((e) => e.sequenceNr)).toEqual(Array.from({ length: perStream }, (_, i) => i + 1));
      // Live: the reader had events while the writer was still writing its thousand transactions.
      expect(allSeen.firstAt).toBeLessThan(doneAt);
      // About 24 MB were written; the reader's short statements let the writer's checkpoints restart the WAL.
      expect(largestWal).toBeLessThan(16 * 1024 * 1024);
      console.log(`read-only follower: largest WAL ${(largestWal / 1024 / 1024).toFixed(1)} MiB`);
    } finally {
      writer.process.stdin.end();
      expect((await writer.exited).code).toBe(0);
    }
  }, 120_000);

  it('refuses writes, deletions, write probes and projection offsets with ERR_JOURNAL_READ_ONLY, and reads what the writer adds', async () => {
    const path = join(dir, 'refuses.db');
    const writer = sqliteJournal({ path });
    await writer.start();
    await writeEvents(writer, 'p', 1, 3);
    const reader = sqliteJournal({ path, readOnly: true });
    try {
      await reader.start();
      await expect(reader.writeMessages([{ persistenceId: 'p', events: [jsonEvent('p', 4)] }])).rejects.toMatchObject({
        code: 'ERR_JOURNAL_READ_ONLY',
        message: expect.stringContaining(path),
      });
      await expect(reader.deleteMessagesTo('p', 1)).rejects.toMatchObject({ code: 'ERR_JOURNAL_READ_ONLY' });
      await expect(reader.probeWrite()).rejects.toMatchObject({ code: 'ERR_JOURNAL_READ_ONLY' });
      expect(reader.classifyError(await reader.probeWrite().catch((error: unknown) => error))).toBe('read_only');
      const { system } = testSystem({ journal: reader });
      expect(() => startProjection(system, { name: 'nope', query: (journal, offset) => journal.allEvents(offset), handler: () => {} })).toThrow(
        expect.objectContaining({ code: 'ERR_JOURNAL_READ_ONLY' }),
      );

      expect(await reader.readHighestSequenceNr('p', 0)).toBe(3);
      await writeEvents(writer, 'p', 4, 5);
      // Not a cached value: the writer is another connection (another process, in use).
      expect(await reader.readHighestSequenceNr('p', 0)).toBe(5);
      expect(sequenceNrs(await replayAll(reader, 'p'))).toEqual([1, 2, 3, 4, 5]);
      expect(sequenceNrs(await replayAll(writer, 'p'))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('names a missing file, an older schema and a :memory: path instead of creating or migrating anything', async () => {
    const missing = join(dir, 'missing.db');
    await expect(sqliteJournal({ path: missing, readOnly: true }).start()).rejects.toMatchObject({ code: 'ERR_DATABASE_MISSING', message: expect.stringContaining(missing) });
    expect(() => statSync(missing)).toThrow();

    const old = join(dir, 'old.db');
    const db = new Database(old);
    db.exec('CREATE TABLE journal_event (ordering INTEGER PRIMARY KEY); PRAGMA user_version = 2;');
    db.close();
    await expect(sqliteJournal({ path: old, readOnly: true }).start()).rejects.toMatchObject({ code: 'ERR_SCHEMA_BEHIND' });
    const reopened = new Database(old, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(2);
    reopened.close();

    expect(() => sqliteJournal({ path: ':memory:', readOnly: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
