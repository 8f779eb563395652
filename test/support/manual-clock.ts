/**
 * Freezes performance.now (the runtime's monotonic clock: redelivery ticks, circuit breakers, recovery
 * timeouts all read it) and lets the test move it: what is "due" or "expired" then depends only on the
 * test, not on how loaded the machine is. Real timers still fire; only the time they read is
 * controlled. Always restore() it (in a finally or an afterEach).
 */
import { vi, type MockInstance } from 'vitest';

export class ManualClock {
  readonly #spy: MockInstance<() => number>;
  #now: number;

  private constructor() {
    this.#now = performance.now();
    this.#spy = vi.spyOn(performance, 'now').mockImplementation(() => this.#now);
  }

  static install(): ManualClock {
    return new ManualClock();
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  restore(): void {
    this.#spy.mockRestore();
  }
}
