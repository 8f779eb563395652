import { describe, expect, it } from 'vitest';
import { WRITE_OK, type WriteOutcome } from '../../src/persistence/journal.js';
import type { AtomicWrite } from '../../src/persistence/persistent-repr.js';
import { WriteBatcher, type WriteBatcherOptions } from '../../src/persistence/write-batcher.js';
import { write } from './postgres/helpers.js';

/** A synchronous store, like better-sqlite3: the flush is over before any other writer can queue. */
function syncStore(options: WriteBatcherOptions): { batcher: WriteBatcher; flushes: string[][] } {
  const flushes: string[][] = [];
  const batcher = new WriteBatcher(async (writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> => {
    flushes.push(writes.map((w) => w.persistenceId));
    return writes.map(() => WRITE_OK);
  }, options);
  return { batcher, flushes };
}

describe('WriteBatcher gatherOneTurn', () => {
  it('by default sends the first write alone (backwards compatible)', async () => {
    const { batcher, flushes } = syncStore({});
    await Promise.all(['a', 'b', 'c'].map((id) => batcher.write([write(id, 1)])));
    expect(flushes).toEqual([['a'], ['b', 'c']]);
  });

  it('lets every writer of the current turn share the first transaction', async () => {
    const { batcher, flushes } = syncStore({ gatherOneTurn: true });
    const outcomes = await Promise.all(['a', 'b', 'c'].map((id) => batcher.write([write(id, 1)])));
    expect(flushes).toEqual([['a', 'b', 'c']]);
    expect(outcomes.map((o) => o.map((x) => x.status))).toEqual([['ok'], ['ok'], ['ok']]);
  });

  it('also gathers writers queued from promise callbacks of the same turn, and keeps maxEventsPerFlush', async () => {
    const { batcher, flushes } = syncStore({ gatherOneTurn: true, maxEventsPerFlush: 2 });
    const first = batcher.write([write('a', 1)]);
    const late = Promise.resolve().then(() => Promise.all(['b', 'c'].map((id) => batcher.write([write(id, 1)]))));
    await Promise.all([first, late]);
    expect(flushes).toEqual([['a', 'b'], ['c']]);
  });

  it('rejects the calls of a flush that throws and goes on with the next', async () => {
    let calls = 0;
    const batcher = new WriteBatcher(
      async (writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> => {
        if (calls++ === 0) throw new Error('disk full');
        return writes.map(() => WRITE_OK);
      },
      { gatherOneTurn: true },
    );
    const failing = batcher.write([write('a', 1)]);
    await expect(failing).rejects.toThrow('disk full');
    await expect(batcher.write([write('b', 1)])).resolves.toEqual([WRITE_OK]);
  });
});
