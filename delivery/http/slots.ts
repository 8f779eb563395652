/**
 * A counting semaphore whose waits end at a deadline, so a send waiting for a free slot can never hang.
 */
import { Fifo } from '../../src/actor/fifo.js';

interface Waiter {
  readonly grant: () => void;
  readonly fail: (error: Error) => void;
}

export class Slots {
  #active = 0;
  /** Thousands may wait behind the limit (a burst of sends): a Fifo keeps each grant O(1). */
  readonly #waiters = new Fifo<Waiter>();

  constructor(private readonly capacity: number) {}

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
  acquire(timeoutMs: number, onTimeout: () => Error): Promise<() => void> {
    const free = this.tryAcquire();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve, reject) => {
      const ticket = this.#waiters.push({
        grant: () => {
          clearTimeout(timer);
          this.#active++;
          resolve(this.#releaser());
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const timer = setTimeout(() => {
        this.#waiters.remove(ticket);
        reject(onTimeout());
      }, timeoutMs);
    });
  }

  /** Rejects every waiter (closing). */
  failAll(error: Error): void {
    for (const waiter of this.#waiters.drain()) waiter.fail(error);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#waiters.shift()?.grant();
    };
  }
}
