/**
 * A counting semaphore whose waits end at a deadline, so a send waiting for a free slot can never hang.
 */
export class Slots {
  #active = 0;
  readonly #waiters: { grant: () => void; fail: (error: Error) => void }[] = [];

  constructor(private readonly capacity: number) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a slot is free; rejects with `onTimeout()` after `timeoutMs`. */
  acquire(timeoutMs: number, onTimeout: () => Error): Promise<() => void> {
    if (this.#active < this.capacity) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          this.#active++;
          resolve(this.#releaser());
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(onTimeout());
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Rejects every waiter (closing). */
  failAll(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.fail(error);
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
