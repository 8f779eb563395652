import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sqliteJournal } from '../../../journal/sqlite/index.js';
import { expectedEvents, LONG_STREAM, runLoad, writeLongStream, type LoadOptions, type LoadReport } from './event-loop-load.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 1000 writers with think time, 250 writes of 128 events queued at once (32 000 events), a 30 000-event replay. */
const LOAD: LoadOptions = { writers: 1000, writesPerWriter: 25, backlogWrites: 250, backlogEvents: 128 };

/**
 * A bound for the longest synchronous stretch of one event-loop turn, with a margin. Measured
 * (2 vCPUs, shared): 5-9 ms on a quiet machine, 8-20 ms with two CPU burners running. A journal that
 * commits whatever is queued in one transaction (the 32 000-event backlog) takes 90-110 ms in that
 * turn; one that replays the stream in one page 55-70 ms. The tight figure (worst event-loop delay
 * < 20 ms, wall time, without the backlog) is a benchmark target: bench/sqlite.bench.ts, bench/README.md.
 */
const TURN_WORK_BOUND_MS = 50;

/*
 * What this bounds is the journal's own synchronous work on the event loop: transaction size, replay
 * pages, deletion chunks, and WAL checkpoints (moved to a worker thread). It counts the time the process
 * ran, not wall time (see event-loop-load.ts): the machine's other load (a descheduled process) and the
 * disk (an fsync of synchronous=FULL, which every commit does on the event loop) add wall-clock delay
 * that no journal can avoid, and that delay is logged but not asserted. Garbage collection still counts,
 * so the test measures up to three rounds and needs one under the bound; a journal that stalls the loop
 * by itself fails all three. The load-independent half (events per transaction, pages per turn) is in
 * event-loop.test.ts. (Committing on a worker thread was measured and rejected: no better worst delay,
 * rarer but longer stalls; see bench/README.md.)
 */
it(`keeps each event-loop turn's synchronous work under ${TURN_WORK_BOUND_MS} ms under heavy write load, a queued backlog and a long replay`, { timeout: 120_000 }, async () => {
  const journal = sqliteJournal({ path: join(dir, 'loop.db') });
  await journal.start();
  await writeLongStream(journal);

  const rounds: LoadReport[] = [];
  for (let round = 0; round < 3; round++) {
    const report = await runLoad(journal, round, LOAD);
    rounds.push(report);
    console.log(
      `event loop under load, round ${round + 1}: ${report.written} events written, ${report.replayed} replayed in ${(report.elapsedMs / 1000).toFixed(2)} s; ` +
        `longest turn ${report.longestTurnWorkMs.toFixed(1)} ms of work; event-loop delay worst ${report.worstMs.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
    );
    expect(report.failures).toBe(0);
    expect(report.written).toBe(expectedEvents(LOAD));
    expect(report.replayed).toBe(LONG_STREAM);
    if (report.longestTurnWorkMs < TURN_WORK_BOUND_MS) break;
  }
  await journal.close();
  expect(Math.min(...rounds.map((r) => r.longestTurnWorkMs))).toBeLessThan(TURN_WORK_BOUND_MS);
});
