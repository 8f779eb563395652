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
    expect(check([Symbol('s')])).toMatch(/^\$\[0\] is a symbol, which cannot be persisted/);
    expect(check([undefined])).toMatch(/^\$\[0\] is undefined/);
  });

  it('a check that failed half-way leaves nothing behind for the next one, and a check inside a check is its own', () => {
    const shared = { x: 1 };
    // Fails deep inside `shared`'s sibling, with `shared`'s parents on the walk's stack.
    expect(() => assertJsonRoundTrips({ a: { shared, bad: () => 1 } })).toThrow(/\$\.a\.bad is a function/);
    // Were the stack left filled, these objects would be taken for their own ancestors (a cycle).
    expect(() => assertJsonRoundTrips({ again: shared })).not.toThrow();
    // A getter that checks another value while the outer walk is under way: the objects on the outer
    // walk's stack are no ancestors of the inner value's.
    let checkedInside = false;
    const nested = {
      get inner(): unknown {
        if (!checkedInside) {
          checkedInside = true;
          assertJsonRoundTrips({ parent });
        }
        return shared;
      },
    };
    const parent = { nested };
    expect(() => assertJsonRoundTrips({ parent })).not.toThrow();
    expect(checkedInside).toBe(true);
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
