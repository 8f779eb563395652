import { describe, expect, it } from 'vitest';
import { WRITE_OK, type WriteOutcome } from '../../../src/persistence/journal.js';
import type { AtomicWrite } from '../../../src/persistence/persistent-repr.js';
import { WriteBatcher } from '../../../src/persistence/write-batcher.js';
import { write } from './helpers.js';

// close() of the PostgreSQL journal waits on idle(); it must wait for every accepted write, in flight or queued.
describe('WriteBatcher.idle', () => {
  it('resolves at once when nothing is pending, and only after the last queued flush otherwise', async () => {
    await new WriteBatcher(async (writes) => writes.map(() => WRITE_OK)).idle();

    const releases: (() => void)[] = [];
    const flushed: number[] = [];
    const batcher = new WriteBatcher(
      (writes: readonly AtomicWrite[]) =>
        new Promise<readonly WriteOutcome[]>((resolve) => {
          releases.push(() => {
            flushed.push(writes.length);
            resolve(writes.map(() => WRITE_OK));
          });
        }),
    );
    const first = batcher.write([write('a', 1)]);
    const second = batcher.write([write('b', 1)]);
    const third = batcher.write([write('c', 1)]);
    let idle = false;
    const idling = batcher.idle().then(() => (idle = true));
    releases.shift()!(); // first flush: 'a' alone
    await first;
    expect(idle).toBe(false);
    await Promise.resolve();
    releases.shift()!(); // second flush: 'b' and 'c' together
    await Promise.all([second, third, idling]);
    expect(idle).toBe(true);
    expect(flushed).toEqual([1, 2]);
  });
});
