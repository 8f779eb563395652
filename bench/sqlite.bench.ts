/**
 * SQLite journal against raw better-sqlite3 on the same schema and settings (WAL, synchronous=FULL),
 * plus the in-memory journal's raw SPI figures. Run: `npx tsx bench/sqlite.bench.ts` or via `npm run bench sqlite`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { inMemoryJournal } from '../journal/memory/index.js';
import { migrate } from '../journal/sqlite/schema.js';
import { sqliteJournal } from '../journal/sqlite/index.js';
import type { PersistentRepr } from '../src/persistence/persistent-repr.js';
import { type Benchmark, type BenchResult, elapsedMsSince, median, percentile, perSecond } from './harness.js';
import { runLoad, writeLongStream } from '../test/journal/sqlite/event-loop-load.js';
import { pino } from 'pino';

const PAYLOAD = JSON.stringify({
  kind: 'OrderPlaced',
  orderId: 'o-123456',
  lines: [
    { sku: 'sku-1', qty: 2 },
    { sku: 'sku-2', qty: 1 },
  ],
});
const WRITERS = 1000;
const EVENTS_PER_WRITER = 30;

function event(persistenceId: string, sequenceNr: number): PersistentRepr {
  return { persistenceId, sequenceNr, writerUuid: 'bench', timestamp: Date.now(), tags: [], serializerId: 'json', manifest: 'OrderPlaced', payload: PAYLOAD };
}

function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function rawDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db, path);
  return db;
}

const COLUMNS = '(persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags)';

/** The ceiling: the same rows, 100 per multi-row INSERT, 1000 per transaction. */
function rawBatchedInsert(db: Database.Database, rows: readonly PersistentRepr[]): number {
  const perStatement = 100;
  const insert = db.prepare(`INSERT INTO journal_event ${COLUMNS} VALUES ${Array(perStatement).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
  const commit = db.transaction((chunk: readonly PersistentRepr[]) => {
    for (let i = 0; i < chunk.length; i += perStatement) {
      const params: unknown[] = [];
      for (const e of chunk.slice(i, i + perStatement)) params.push(e.persistenceId, e.sequenceNr, e.writerUuid, e.timestamp, e.serializerId, e.manifest, e.payload, null);
      insert.run(...params);
    }
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < rows.length; i += 1000) commit(rows.slice(i, i + 1000));
  return perSecond(rows.length, elapsedMsSince(start));
}

async function writeThroughput(): Promise<BenchResult[]> {
  return withDir(async (dir) => {
    // Rows in the order 1000 concurrent writers produce them: round by round.
    const rows: PersistentRepr[] = [];
    for (let nr = 1; nr <= EVENTS_PER_WRITER; nr++) for (let w = 0; w < WRITERS; w++) rows.push(event(`writer-${w}`, nr));
    const rawRound = (round: number): number => {
      const raw = rawDatabase(join(dir, `raw-${round}.db`));
      try {
        return rawBatchedInsert(raw, rows);
      } finally {
        raw.close();
      }
    };
    const journalRound = async (round: number): Promise<number> => {
      const journal = sqliteJournal({ path: join(dir, `journal-${round}.db`) });
      await journal.start();
      try {
        const start = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: WRITERS }, async (_, w) => {
            for (let nr = 1; nr <= EVENTS_PER_WRITER; nr++) {
              const [outcome] = await journal.writeMessages([{ persistenceId: `writer-${w}`, events: [event(`writer-${w}`, nr)] }]);
              if (outcome?.status !== 'ok') throw new Error(`write failed: ${JSON.stringify(outcome)}`);
            }
          }),
        );
        return perSecond(WRITERS * EVENTS_PER_WRITER, elapsedMsSince(start));
      } finally {
        await journal.close();
      }
    };
    // One unmeasured round of each (JIT, page cache), then three alternating rounds.
    rawRound(0);
    await journalRound(0);
    const raws: number[] = [];
    const journals: number[] = [];
    for (let round = 1; round <= 3; round++) {
      raws.push(rawRound(round));
      journals.push(await journalRound(round));
    }
    const ratios = journals.map((value, i) => Math.round((value / raws[i]!) * 100) / 100);
    const ratio = median(ratios);
    return [
      {
        name: `sqliteJournal writes, ${WRITERS} concurrent writers x ${EVENTS_PER_WRITER}, synchronous=FULL (raw: 1000-row transactions; rounds journal/raw: ${journals.map((value, i) => `${value}/${raws[i]}`).join(', ')}; ratios ${ratios.join(', ')})`,
        value: median(journals),
        unit: 'events/s',
        baseline: median(raws),
        ratio,
        // The issue's PostgreSQL target, applied to SQLite as "the same figures".
        target: '>= 0.6 ratio',
        meetsTarget: ratio >= 0.6,
      },
    ];
  });
}

async function singleWriterLatency(): Promise<BenchResult[]> {
  return withDir(async (dir) => {
    const count = 2000;
    const raw = rawDatabase(join(dir, 'raw.db'));
    const insert = raw.prepare(`INSERT INTO journal_event ${COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const rawTimes: number[] = [];
    for (let nr = 1; nr <= count; nr++) {
      const start = process.hrtime.bigint();
      insert.run('single', nr, 'bench', Date.now(), 'json', 'OrderPlaced', PAYLOAD, null);
      rawTimes.push(elapsedMsSince(start));
    }
    raw.close();

    const journal = sqliteJournal({ path: join(dir, 'journal.db') });
    await journal.start();
    const times: number[] = [];
    for (let nr = 1; nr <= count; nr++) {
      const start = process.hrtime.bigint();
      await journal.writeMessages([{ persistenceId: 'single', events: [event('single', nr)] }]);
      times.push(elapsedMsSince(start));
    }
    await journal.close();
    rawTimes.sort((a, b) => a - b);
    times.sort((a, b) => a - b);
    const result = (p: number): BenchResult => {
      const value = percentile(times, p);
      const baseline = percentile(rawTimes, p);
      return {
        name: `sqliteJournal single-writer persist latency p${p} (raw: one-row autocommit)`,
        value: round(value),
        unit: 'ms',
        baseline: round(baseline),
        ratio: round(baseline / value),
      };
    };
    const rate = (samples: readonly number[]): number =>
      perSecond(
        samples.length,
        samples.reduce((sum, ms) => sum + ms, 0),
      );
    const journalRate = rate(times);
    const rawRate = rate(rawTimes);
    const sequential: BenchResult = {
      name: 'sqliteJournal single writer, sequential (raw: one-row autocommit)',
      value: journalRate,
      unit: 'events/s',
      baseline: rawRate,
      ratio: round(journalRate / rawRate),
      target: '>= 0.8 ratio',
      meetsTarget: journalRate / rawRate >= 0.8,
    };
    return [sequential, result(50), result(99)];
  });
}

async function replaySpeed(): Promise<BenchResult[]> {
  return withDir(async (dir) => {
    const count = 100_000;
    const journal = sqliteJournal({ path: join(dir, 'journal.db') });
    for (let from = 1; from <= count; from += 1000) {
      const events: PersistentRepr[] = [];
      for (let nr = from; nr < from + 1000; nr++) events.push(event('long', nr));
      await journal.writeMessages([{ persistenceId: 'long', events }]);
    }
    let seen = 0;
    const start = process.hrtime.bigint();
    await journal.replayMessages('long', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
      seen++;
    });
    const value = perSecond(seen, elapsedMsSince(start));
    await journal.close();
    return [{ name: 'sqliteJournal replay, one persistenceId, 100k events', value, unit: 'events/s', target: '>= 500000', meetsTarget: value >= 500_000 }];
  });
}

/**
 * The event-loop figure of test/journal/sqlite/event-loop.timing.test.ts, tight: the worst event-loop
 * delay (wall time) while 1000 writers (think time 50 ms, 25 commands each) write and a 30 000-event
 * stream is replayed, synchronous=FULL. Wall time includes fsync stalls and the machine's other load,
 * so the test asserts a bound with a margin on the turn's CPU-bounded work instead; this is the number
 * to watch on a quiet machine.
 */
async function eventLoopDelay(): Promise<BenchResult[]> {
  return withDir(async (dir) => {
    const journal = sqliteJournal({ path: join(dir, 'loop.db') });
    await journal.start();
    await writeLongStream(journal);
    const rounds = [];
    for (let r = 0; r < 3; r++) rounds.push(await runLoad(journal, r));
    await journal.close();
    const worst = median(rounds.map((report) => report.worstMs));
    const label = '1000 writers (think time 50 ms) + 30k-event replay, synchronous=FULL, median of 3 rounds';
    return [
      { name: `sqliteJournal worst event-loop delay, ${label}`, value: round(worst), unit: 'ms', target: '< 20 ms', meetsTarget: worst < 20 },
      { name: `sqliteJournal event-loop delay p99, ${label}`, value: round(median(rounds.map((report) => report.p99Ms))), unit: 'ms' },
      {
        name: `sqliteJournal longest turn, work only (the test's measure; bound there 50 ms), ${label}`,
        value: round(median(rounds.map((report) => report.longestTurnWorkMs))),
        unit: 'ms',
      },
    ];
  });
}

async function memoryJournal(): Promise<BenchResult[]> {
  const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
  const count = 1_000_000;
  const pids = 1000;
  const next = new Array<number>(pids).fill(1);
  const writeStart = process.hrtime.bigint();
  for (let written = 0; written < count; written += pids) {
    const calls: Promise<unknown>[] = [];
    for (let p = 0; p < pids; p++) {
      const pid = `m-${p}`;
      calls.push(journal.writeMessages([{ persistenceId: pid, events: [event(pid, next[p]!++)] }]));
    }
    await Promise.all(calls);
  }
  const writes = perSecond(count, elapsedMsSince(writeStart));

  const events: PersistentRepr[] = [];
  for (let nr = 1; nr <= count; nr++) events.push(event('long', nr));
  await journal.writeMessages([{ persistenceId: 'long', events }]);
  let seen = 0;
  const replayStart = process.hrtime.bigint();
  await journal.replayMessages('long', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    seen++;
  });
  const replays = perSecond(seen, elapsedMsSince(replayStart));
  return [
    {
      name: 'inMemoryJournal writes (SPI, one event per call, 1000 pids, 1M events)',
      value: writes,
      unit: 'events/s',
      target: '>= 300k (through the runtime)',
      meetsTarget: writes >= 300_000,
    },
    { name: 'inMemoryJournal replay (SPI, one pid, 1M events)', value: replays, unit: 'events/s', target: '>= 1M (through the runtime)', meetsTarget: replays >= 1_000_000 },
  ];
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export const benchmarks: Benchmark[] = [
  { name: 'sqlite: write throughput, 1000 writers vs raw batched INSERT', run: writeThroughput },
  { name: 'sqlite: single-writer latency vs raw autocommit', run: singleWriterLatency },
  { name: 'sqlite: replay 100k events', run: replaySpeed },
  { name: 'sqlite: event-loop delay under 1000 writers and a 30k replay', run: eventLoopDelay },
  { name: 'memory journal: 1M events, writes and replay', run: memoryJournal },
];

// Standalone: `npx tsx bench/sqlite.bench.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const benchmark of benchmarks) {
    for (const result of await benchmark.run()) console.log(JSON.stringify(result));
  }
}
