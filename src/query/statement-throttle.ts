/**
 * Bounds what a burst of queries can do (the seeds' "token bucket throttling for Persistence.Query"):
 * at most `concurrent` statements run at once (the journal's query connections), at most `maxQueued`
 * wait, each at most `timeoutMs`; past either bound a query fails at once with `QueryThrottledError`
 * instead of piling up in the database or in memory. Waiters are served in arrival order.
 */
import { Fifo } from '../actor/fifo.js';
import { QueryThrottledError } from './query-errors.js';

interface Waiter {
  readonly resolve: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class StatementThrottle {
  #running = 0;
  /** Up to maxQueued (10 000 by default) wait: a Fifo keeps each hand-over and each timeout O(1). */
  readonly #waiting = new Fifo<Waiter>();

  constructor(
    readonly concurrent: number,
    readonly maxQueued: number,
    readonly timeoutMs: number,
  ) {}

  get queued(): number {
    return this.#waiting.size;
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
    if (this.#waiting.size >= this.maxQueued) {
      return Promise.reject(new QueryThrottledError(`${this.maxQueued} queries are already waiting for a statement (maxQueuedQueries); retry later`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, timer: undefined };
      const ticket = this.#waiting.push(waiter);
      waiter.timer = setTimeout(() => {
        this.#waiting.remove(ticket);
        reject(new QueryThrottledError(`no statement was free within ${this.timeoutMs} ms (queryThrottleTimeoutMs); retry later`));
      }, this.timeoutMs);
    });
  }
}
