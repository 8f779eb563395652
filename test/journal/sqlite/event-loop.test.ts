/**
 * What keeps the event loop responsive under the SQLite journal, in terms that do not depend on the
 * machine's speed or load: better-sqlite3 runs on the event loop, so the journal bounds the work it does
 * in one turn (one transaction of at most maxEventsPerTransaction events, one replay page) and lets the
 * loop turn between them. The delay this gives in milliseconds is measured in event-loop.timing.test.ts
 * (with a margin) and in bench/sqlite.bench.ts (the tight figure).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sqliteJournal } from '../../../journal/sqlite/index.js';
import { expectedEvents, LONG_STREAM, runLoad, writeLongStream } from './event-loop-load.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-turns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOAD = { writers: 1000, writesPerWriter: 8 };

it('commits at most maxEventsPerTransaction events and replays at most one page per event-loop turn, under 1000 writers and a long replay', { timeout: 60_000 }, async () => {
  const journal = sqliteJournal({ path: join(dir, 'turns.db'), maxEventsPerTransaction: 128, replayPageSize: 500 });
  await journal.start();
  try {
    await writeLongStream(journal);
    const report = await runLoad(journal, 0, LOAD);
    expect(report.failures).toBe(0);
    expect(report.written).toBe(expectedEvents(LOAD));
    expect(report.replayed).toBe(LONG_STREAM);
    // One transaction per turn, of at most 128 events: a journal that committed everything that is
    // queued at once, or several transactions back to back, would answer more in one turn.
    expect(report.maxCommittedPerTurn).toBeLessThanOrEqual(128);
    // The first writes of all 1000 writers (~3000 events) wait at once: the cap was reached, not just
    // respected by small batches, and the burst took many turns.
    expect(report.maxCommittedPerTurn).toBeGreaterThan(100);
    expect(report.commitTurns).toBeGreaterThanOrEqual(Math.ceil(expectedEvents(LOAD) / 128));
    // The replay yields between its 500-event pages.
    expect(report.maxReplayedPerTurn).toBeLessThanOrEqual(500);
    expect(report.maxReplayedPerTurn).toBe(500);
  } finally {
    await journal.close();
  }
});

it('a journal without the bounds (one transaction for whatever is queued, one page for the whole replay) fails the same checks', { timeout: 60_000 }, async () => {
  const journal = sqliteJournal({ path: join(dir, 'unbounded.db'), maxEventsPerTransaction: 1_000_000, transactionBudgetMs: 1_000_000, replayPageSize: 1_000_000 });
  await journal.start();
  try {
    await writeLongStream(journal);
    const report = await runLoad(journal, 0, LOAD);
    expect(report.failures).toBe(0);
    expect(report.maxCommittedPerTurn).toBeGreaterThan(128);
    expect(report.maxReplayedPerTurn).toBe(LONG_STREAM);
  } finally {
    await journal.close();
  }
});
