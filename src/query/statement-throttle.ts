/**
 * Bounds what a burst of queries can do (the seeds' "token bucket throttling for Persistence.Query"):
 * at most `concurrent` statements run at once (the journal's query connections), at most `maxQueued`
 * wait, each at most `timeoutMs`; past either bound a query fails at once with `QueryThrottledError`
 * instead of piling up in the database or in memory. Waiters are served in arrival order.
 */
import { QueryThrottledError } from './query-errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class StatementThrottle {
  #running = 0;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly concurrent: number,
    readonly maxQueued: number,
    readonly timeoutMs: number,
  ) {}

  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs `statement` when a slot is free. */
  async run<T>(statement: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrent) await this.#slot();
    else this.#running++;
    try {
      return await statement();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else {
        clearTimeout(next.timer);
        next.resolve();
      }
    }
  }

  #slot(): Promise<void> {
    if (this.#waiting.length >= this.maxQueued) {
      return Promise.reject(new QueryThrottledError(`${this.maxQueued} queries are already waiting for a statement (maxQueuedQueries); retry later`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = this.#waiting.indexOf(waiter);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(new QueryThrottledError(`no statement was free within ${this.timeoutMs} ms (queryThrottleTimeoutMs); retry later`));
        }, this.timeoutMs),
      };
      this.#waiting.push(waiter);
    });
  }
}
