import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, expect, it } from 'vitest';
import { sqliteJournal, type SqliteJournal } from '../../../journal/sqlite/index.js';
import type { AtomicWrite, PersistentRepr } from '../../../src/persistence/persistent-repr.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const payload = JSON.stringify({ kind: 'OrderPlaced', lines: Array.from({ length: 4 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1 })) });
const LONG_STREAM = 30_000;
const THINK_MS = 50;

function batch(persistenceId: string, from: number, size: number): AtomicWrite {
  const events: PersistentRepr[] = [];
  for (let nr = from; nr < from + size; nr++) {
    events.push({ persistenceId, sequenceNr: nr, writerUuid: 'w', timestamp: Date.now(), tags: ['order'], serializerId: 'json', manifest: 'OrderPlaced', payload });
  }
  return { persistenceId, events };
}

interface Window {
  worstMs: number;
  p99Ms: number;
  written: number;
  replayed: number;
  failures: number;
}

/** 1000 writers (persistAll-like batches of 1-5 events) plus a full replay of a long stream, for `ms`. */
async function loadWindow(journal: SqliteJournal, round: number, ms: number): Promise<Window> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const deadline = performance.now() + ms;
  let written = 0;
  let failures = 0;
  const writer = async (index: number): Promise<void> => {
    const pid = `writer-${round}-${index}`;
    let next = 1;
    while (performance.now() < deadline) {
      const size = 1 + (next % 5);
      const [outcome] = await journal.writeMessages([batch(pid, next, size)]);
      // A plain comparison: expect() per write would itself cost milliseconds per round of writers.
      if (outcome?.status !== 'ok') failures++;
      next += size;
      written += size;
      // Each writer thinks between commands, as actors do; 1000 of them still make ~50k events/s.
      // Flat-out writers would saturate a core, and then the OS scheduler's time slices (whenever
      // another process wants the CPU) would show up as event-loop delay that no journal can avoid.
      await new Promise<void>((resolve) => setTimeout(resolve, THINK_MS));
    }
  };
  let replayed = 0;
  const replay = journal.replayMessages('long', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    replayed++;
  });
  await Promise.all([...Array.from({ length: 1000 }, (_, i) => writer(i)), replay]);
  histogram.disable();
  return { worstMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, written, replayed, failures };
}

/*
 * What this bounds is the journal's own synchronous work on the event loop: transaction size, replay
 * pages, deletion chunks, and WAL checkpoints (moved to a worker thread). It runs with the default,
 * synchronous=FULL, so every commit's fsync happens on the event loop too: that is the configuration
 * users get. An fsync's latency belongs to the disk and to whatever else uses it, and the machine's other
 * load can only add delay, never hide it, so the test measures up to three windows and needs one clean
 * one. A journal that stalls the loop by itself fails all three. (Committing on a worker thread was
 * measured and rejected: no better worst delay, rarer but longer stalls; see bench/README.md.)
 */
it('keeps the event loop responsive (worst delay < 20 ms) under heavy write load and a long replay', { timeout: 60_000 }, async () => {
  const journal = sqliteJournal({ path: join(dir, 'loop.db') });
  await journal.start();
  for (let from = 1; from <= LONG_STREAM; from += 1000) await journal.writeMessages([batch('long', from, 1000)]);

  const windows: Window[] = [];
  for (let round = 0; round < 3; round++) {
    const window = await loadWindow(journal, round, 1500);
    windows.push(window);
    console.log(
      `event loop under load, window ${round + 1}: ${window.written} events written, ${window.replayed} replayed, worst delay ${window.worstMs.toFixed(1)} ms, p99 ${window.p99Ms.toFixed(1)} ms`,
    );
    expect(window.failures).toBe(0);
    expect(window.replayed).toBe(LONG_STREAM);
    expect(window.written).toBeGreaterThan(20_000);
    if (window.worstMs < 20) break;
  }
  await journal.close();
  expect(Math.min(...windows.map((w) => w.worstMs))).toBeLessThan(20);
});
