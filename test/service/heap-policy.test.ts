import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { applyHeapPolicy, type HeapPolicy } from '../../service/heap-policy.js';

const MiB = 1024 * 1024;
let policy: HeapPolicy | undefined;
afterEach(() => policy?.stop());

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** About `mib` MiB of live objects (small strings in arrays, as messages in flight are). */
function allocate(mib: number): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < mib; i++) chunks.push(Array.from({ length: 16 * 1024 }, (_, j) => `message ${i} ${j} ${'x'.repeat(24)}`));
  return chunks;
}

it('limits heap growth only while the heap is large, and gives V8 its own policy back once it is small again', () => {
  collect();
  const baseline = getHeapStatistics().used_heap_size;
  // Twice the baseline and more, so that what is left after the allocation is collected is under half.
  const threshold = 2 * baseline + 64 * MiB;
  policy = applyHeapPolicy(20, { limitAboveBytes: threshold, checkIntervalMs: 60_000 });
  policy.check();
  expect(policy.limiting).toBe(false);

  let held: string[][] | undefined = allocate(Math.ceil((threshold - baseline) / MiB) + 32);
  policy.check();
  expect(policy.limiting).toBe(true);
  expect(held.length).toBeGreaterThan(0);

  held = undefined;
  collect();
  policy.check();
  expect(policy.limiting).toBe(false);
});

it('with HEAP_GROWING_PERCENT=0 never limits growth', () => {
  policy = applyHeapPolicy(0, { limitAboveBytes: 1 });
  const held = allocate(4);
  policy.check();
  expect(policy.limiting).toBe(false);
  expect(held.length).toBe(4);
});
