import { describe, expect, it } from 'vitest';
import { assertJsonRoundTrips, CallTimeoutError, CircuitBreaker, SerializationError } from '../../src/index.js';

describe('assertJsonRoundTrips', () => {
  it('names the path of the first part that would not round-trip', () => {
    const check = (value: unknown): string => {
      try {
        assertJsonRoundTrips(value);
      } catch (error) {
        expect(error).toBeInstanceOf(SerializationError);
        return (error as Error).message;
      }
      return 'ok';
    };
    expect(check({ a: [1, { b: () => 1 }] })).toMatch(/^\$\.a\[1\]\.b is a function/);
    expect(check({ n: 1n })).toMatch(/^\$\.n is a BigInt/);
    expect(check([Number.POSITIVE_INFINITY])).toMatch(/^\$\[0\] is Infinity/);
    expect(check({ when: new Date(0) })).toMatch(/^\$\.when is an instance of Date/);
    const loop: { next?: unknown } = {};
    loop.next = { back: loop };
    expect(check(loop)).toMatch(/^\$\.next\.back refers back/);
    // The same object twice (not a cycle) and undefined fields are fine.
    const shared = { x: 1 };
    expect(check({ a: shared, b: shared, c: undefined, d: null, e: 'text', f: true })).toBe('ok');
  });
});

describe('CircuitBreaker call timeouts', () => {
  it('times out each hung call after callTimeoutMs, in order, and lets fast calls through meanwhile', async () => {
    const breaker = new CircuitBreaker('test store', { maxFailures: 100, callTimeoutMs: 100, resetTimeoutMs: 60_000 });
    const started = performance.now();
    const hung = [0, 1, 2].map(() => breaker.call('op', () => new Promise<never>(() => {})).catch((error: unknown) => ({ error, at: performance.now() - started })));
    expect(await breaker.call('op', async () => 'fast')).toBe('fast');
    const results = await Promise.all(hung);
    for (const result of results) {
      expect((result as { error: unknown }).error).toBeInstanceOf(CallTimeoutError);
      expect((result as { at: number }).at).toBeGreaterThanOrEqual(95);
      // After callTimeoutMs, not after another setting (resetTimeoutMs is 60 s): seconds of margin for scheduling.
      expect((result as { at: number }).at).toBeLessThan(10_000);
    }
  });

  it('opens after maxFailures consecutive failures; a success in between resets the count', async () => {
    const breaker = new CircuitBreaker('test store', { maxFailures: 2, callTimeoutMs: 1_000, resetTimeoutMs: 10_000 });
    const fail = (): Promise<unknown> => breaker.call('op', () => Promise.reject(new Error('x'))).catch(() => undefined);
    await fail();
    await breaker.call('op', async () => 1);
    await fail();
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
    let called = false;
    await expect(breaker.call('op', async () => (called = true))).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    expect(called).toBe(false);
  });
});
