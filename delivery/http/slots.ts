/**
 * A counting semaphore whose waits end at a deadline, so a send waiting for a free slot can never hang.
 *
 * Every wait lasts the same `timeoutMs`, so the line is also in deadline order: one timer, armed for
 * the first waiter's deadline, ends the waits that are due, from the front. A burst of 100 000 sends
 * queued behind the limit used to hold 100 000 timers and twice as many closures until its turn.
 */
import { Fifo } from '../../src/actor/fifo.js';

interface Waiter {
  readonly resolve: (release: () => void) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
  readonly onTimeout: () => Error;
}

export class Slots {
  #active = 0;
  /** Thousands may wait behind the limit (a burst of sends): a Fifo keeps each grant O(1). */
  readonly #waiters = new Fifo<Waiter>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly capacity: number,
    private readonly timeoutMs: number,
  ) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * A release function when a slot is free now, else undefined (`acquire` then waits in line). Never
   * ahead of a waiter: a released slot goes straight to the first one, so none is free while any waits.
   */
  tryAcquire(): (() => void) | undefined {
    if (this.#active >= this.capacity) return undefined;
    this.#active++;
    return this.#releaser();
  }

  /** Resolves with a release function once a slot is free; rejects with `onTimeout()` after `timeoutMs`. */
  acquire(onTimeout: () => Error): Promise<() => void> {
    const free = this.tryAcquire();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject, deadline: performance.now() + this.timeoutMs, onTimeout });
      if (this.#timer === undefined) this.#arm(this.timeoutMs);
    });
  }

  /** Rejects every waiter (closing). */
  failAll(error: Error): void {
    this.#disarm();
    for (const waiter of this.#waiters.drain()) waiter.reject(error);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const next = this.#waiters.shift();
      if (next === undefined) return this.#disarm();
      this.#active++;
      next.resolve(this.#releaser());
    };
  }

  #arm(inMs: number): void {
    this.#timer = setTimeout(this.#expire, inMs);
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (let first = this.#waiters.peek(); first !== undefined; first = this.#waiters.peek()) {
      // Timers may fire a little early; the deadline is what counts.
      if (first.deadline > now) return this.#arm(Math.max(1, first.deadline - now));
      this.#waiters.shift();
      first.reject(first.onTimeout());
    }
  };
}
