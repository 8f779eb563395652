import { afterEach, describe, expect, it, vi } from 'vitest';
import { Slots } from '../../../delivery/http/slots.js';

describe('Slots', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands freed slots to the waiters in arrival order, and ends each wait at its own deadline', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const slots = new Slots(1, 100);
    const release = slots.tryAcquire()!;
    const outcomes: string[] = [];
    const wait = (name: string): Promise<(() => void) | undefined> =>
      slots
        .acquire(() => new Error(`${name} timed out`))
        .then(
          (granted) => {
            outcomes.push(`${name} granted`);
            return granted;
          },
          (error: Error) => {
            outcomes.push(error.message);
            return undefined;
          },
        );
    const first = wait('first');
    await vi.advanceTimersByTimeAsync(40);
    const second = wait('second');
    const third = wait('third');
    expect(slots.waiting).toBe(3);
    release();
    const granted = await first;
    expect(outcomes).toEqual(['first granted']);
    // second and third were queued at 40 ms: nothing of theirs is due at 100 ms (the first wait's deadline).
    await vi.advanceTimersByTimeAsync(60);
    expect(outcomes).toEqual(['first granted']);
    await vi.advanceTimersByTimeAsync(40);
    expect(outcomes).toEqual(['first granted', 'second timed out', 'third timed out']);
    await Promise.all([second, third]);
    // The slot the first waiter got is still held; once released, the next caller takes it at once.
    expect(slots.tryAcquire()).toBeUndefined();
    granted!();
    granted!(); // a second release of the same slot frees nothing more
    expect(slots.active).toBe(0);
    expect(slots.tryAcquire()).toBeDefined();
    expect(slots.tryAcquire()).toBeUndefined();
  });

  it('fails every waiter at once when closed', async () => {
    const slots = new Slots(1, 60_000);
    slots.tryAcquire();
    const waits = [slots.acquire(() => new Error('timeout')), slots.acquire(() => new Error('timeout'))];
    slots.failAll(new Error('closed'));
    await expect(Promise.all(waits)).rejects.toThrow('closed');
    await expect(waits[1]).rejects.toThrow('closed');
    expect(slots.waiting).toBe(0);
  });
});
