/**
 * The SQLite journal's event-loop workload, shared by the event-loop tests and bench/sqlite.bench.ts:
 * 1000 writers (persistAll-like batches of 1-5 events, a think time between commands, as actors have),
 * a backlog of writes that are all queued at once, and a full replay of a long stream, all together.
 * The amount of work is fixed (writes per writer), not the duration, so what it does is the same on a
 * fast and on a slow machine.
 *
 * Measured per turn of the event loop (counted by a setImmediate ticker: an immediate scheduled while
 * immediates run waits for the next loop iteration, so the ticker runs once per iteration):
 * - events committed (writes answered) and events replayed: counts, independent of the machine;
 * - how long the turn took, in wall time and in CPU time of the process. The smaller of the two is
 *   the synchronous work the turn did: a turn in which the process was descheduled (another process
 *   had the CPU) takes long in wall time but not in CPU time, a turn waiting for an fsync takes long
 *   in wall time but not in CPU time, and CPU time of other threads (GC helpers) cannot make a turn
 *   longer than it took;
 * - and the event-loop delay histogram (monitorEventLoopDelay), which sees all of it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SqliteJournal } from '../../../journal/sqlite/index.js';
import type { AtomicWrite, PersistentRepr } from '../../../src/persistence/persistent-repr.js';

const payload = JSON.stringify({ kind: 'OrderPlaced', lines: Array.from({ length: 4 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1 })) });

export const LONG_STREAM = 30_000;
export const LONG_STREAM_ID = 'long';

export function batch(persistenceId: string, from: number, size: number): AtomicWrite {
  const events: PersistentRepr[] = [];
  for (let nr = from; nr < from + size; nr++) {
    events.push({ persistenceId, sequenceNr: nr, writerUuid: 'w', timestamp: Date.now(), tags: ['order'], serializerId: 'json', manifest: 'OrderPlaced', payload });
  }
  return { persistenceId, events };
}

/** Writes the long stream that every load round replays, in 1000-event atomic writes. */
export async function writeLongStream(journal: SqliteJournal): Promise<void> {
  for (let from = 1; from <= LONG_STREAM; from += 1000) await journal.writeMessages([batch(LONG_STREAM_ID, from, 1000)]);
}

export interface LoadOptions {
  readonly writers?: number;
  readonly writesPerWriter?: number;
  readonly thinkMs?: number;
  /** Atomic writes of `backlogEvents` events each, all queued in the first turn. */
  readonly backlogWrites?: number;
  readonly backlogEvents?: number;
}

const DEFAULTS: Required<LoadOptions> = { writers: 1000, writesPerWriter: 25, thinkMs: 50, backlogWrites: 0, backlogEvents: 128 };

export interface LoadReport {
  /** Event-loop delay (wall time), worst and p99. */
  readonly worstMs: number;
  readonly p99Ms: number;
  /** The longest turn, counting only time the process was running (see the file comment). */
  readonly longestTurnWorkMs: number;
  readonly written: number;
  /** Writes not answered `ok` (counted, not asserted per write: expect() per write would itself cost milliseconds per round of writers). */
  readonly failures: number;
  readonly replayed: number;
  /** Events whose writes were answered in one turn of the event loop, at most. */
  readonly maxCommittedPerTurn: number;
  /** Turns in which writes were answered. */
  readonly commitTurns: number;
  /** Events replayed in one turn of the event loop, at most. */
  readonly maxReplayedPerTurn: number;
  readonly elapsedMs: number;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Runs the workload once: every writer and the backlog start in the same turn, then each writer writes
 * `writesPerWriter` times with `thinkMs` between commands; meanwhile the long stream is replayed.
 * `round` keeps each run's streams apart.
 */
export async function runLoad(journal: SqliteJournal, round: number, options: LoadOptions = {}): Promise<LoadReport> {
  const { writers, writesPerWriter, thinkMs, backlogWrites, backlogEvents } = { ...DEFAULTS, ...options };
  // Built before anything is measured: creating the events is the test's work, not the journal's.
  const backlog = Array.from({ length: backlogWrites }, (_, i) => batch(`backlog-${round}-${i}`, 1, backlogEvents));

  let turn = 0;
  let longestTurnWorkMs = 0;
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  let ticker: NodeJS.Immediate | undefined;
  const tick = (): void => {
    turn++;
    const wall = performance.now();
    const cpu = cpuMs();
    longestTurnWorkMs = Math.max(longestTurnWorkMs, Math.min(wall - lastWall, cpu - lastCpu));
    lastWall = wall;
    lastCpu = cpu;
    ticker = setImmediate(tick);
  };
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  ticker = setImmediate(tick);
  // The histogram records a delay from its second sample on: let it (and the ticker) run first.
  await new Promise((resolve) => setTimeout(resolve, 5));
  longestTurnWorkMs = 0;

  const committed = new Map<number, number>();
  const replayedInTurn = new Map<number, number>();
  const started = performance.now();
  let written = 0;
  let failures = 0;
  const write = async (atomicWrite: AtomicWrite): Promise<void> => {
    const [outcome] = await journal.writeMessages([atomicWrite]);
    // Answered in the turn of the transaction that committed it.
    committed.set(turn, (committed.get(turn) ?? 0) + atomicWrite.events.length);
    if (outcome?.status !== 'ok') failures++;
    written += atomicWrite.events.length;
  };
  const writer = async (index: number): Promise<void> => {
    const pid = `writer-${round}-${index}`;
    let next = 1;
    for (let command = 0; command < writesPerWriter; command++) {
      const size = 1 + (next % 5);
      await write(batch(pid, next, size));
      next += size;
      // Flat-out writers would saturate a core, and then the OS scheduler's time slices (whenever
      // another process wants the CPU) would show up as event-loop delay that no journal can avoid.
      await new Promise<void>((resolve) => setTimeout(resolve, thinkMs));
    }
  };
  let replayed = 0;
  const replay = journal.replayMessages(LONG_STREAM_ID, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    replayed++;
    replayedInTurn.set(turn, (replayedInTurn.get(turn) ?? 0) + 1);
  });
  try {
    await Promise.all([...Array.from({ length: writers }, (_, i) => writer(i)), ...backlog.map(write), replay]);
  } finally {
    histogram.disable();
    clearImmediate(ticker);
  }
  return {
    worstMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    longestTurnWorkMs,
    written,
    failures,
    replayed,
    maxCommittedPerTurn: Math.max(0, ...committed.values()),
    commitTurns: committed.size,
    maxReplayedPerTurn: Math.max(0, ...replayedInTurn.values()),
    elapsedMs: performance.now() - started,
  };
}

/** Events the workload writes: the same on every machine. */
export function expectedEvents(options: LoadOptions = {}): number {
  const { writers, writesPerWriter, backlogWrites, backlogEvents } = { ...DEFAULTS, ...options };
  let perWriter = 0;
  let next = 1;
  for (let command = 0; command < writesPerWriter; command++) {
    const size = 1 + (next % 5);
    perWriter += size;
    next += size;
  }
  return perWriter * writers + backlogWrites * backlogEvents;
}
