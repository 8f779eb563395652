import type { WriteOutcome } from './journal.js';
import type { AtomicWrite } from './persistent-repr.js';

export interface WriteBatcherOptions {
  /**
   * Upper bound on events in one flush, so one transaction never grows without limit; a function is
   * asked before each flush (a store that sizes its transactions by their measured cost).
   */
  maxEventsPerFlush?: number | (() => number);
  /**
   * Wait one `setImmediate` turn before taking each batch, the first one included (default false: the
   * first write leaves at once). For synchronous stores (better-sqlite3): their flush is over before any
   * other writer runs, so "gather while a flush is in flight" gathers nothing; one turn lets every writer
   * that is ready in this turn join, and gives timers and I/O a turn between consecutive commits.
   */
  gatherOneTurn?: boolean;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface PendingCall {
  readonly writes: readonly AtomicWrite[];
  readonly eventCount: number;
  resolve(outcomes: readonly WriteOutcome[]): void;
  reject(error: unknown): void;
}

/**
 * Group commit for journal plugins. The first write goes out at once (or after one event-loop turn, with
 * `gatherOneTurn`); writes that arrive while a flush is in flight are gathered and go out together in the
 * next flush, so the number of transactions
 * follows the store's speed, not the number of actors. Calls keep their order, and each call gets
 * exactly its own outcomes back (or the flush's error, if the flush as a whole failed).
 */
export class WriteBatcher {
  readonly #flush: (writes: readonly AtomicWrite[]) => Promise<readonly WriteOutcome[]>;
  readonly #maxEvents: number | (() => number);
  readonly #gatherOneTurn: boolean;
  #queue: PendingCall[] = [];
  #flushing = false;
  #idleWaiters: (() => void)[] = [];

  constructor(flush: (writes: readonly AtomicWrite[]) => Promise<readonly WriteOutcome[]>, options: WriteBatcherOptions = {}) {
    this.#flush = flush;
    this.#maxEvents = options.maxEventsPerFlush ?? 10_000;
    this.#gatherOneTurn = options.gatherOneTurn ?? false;
  }

  write(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    if (writes.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      let eventCount = 0;
      for (const write of writes) eventCount += write.events.length;
      this.#queue.push({ writes, eventCount, resolve, reject });
      if (!this.#flushing) void this.#drain();
    });
  }

  /** Resolves once everything queued so far has been flushed (used by close()). */
  idle(): Promise<void> {
    // Resolved by #drain when it runs dry, rather than polled: a flush can take as long as a statement
    // timeout, and close() should not spin the event loop meanwhile.
    if (!this.#flushing && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async #drain(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        if (this.#gatherOneTurn) await nextTurn();
        const calls = this.#takeBatch();
        const writes: AtomicWrite[] = [];
        for (const call of calls) writes.push(...call.writes);
        let outcomes: readonly WriteOutcome[];
        try {
          outcomes = await this.#flush(writes);
        } catch (error) {
          for (const call of calls) call.reject(error);
          continue;
        }
        let offset = 0;
        for (const call of calls) {
          call.resolve(outcomes.slice(offset, offset + call.writes.length));
          offset += call.writes.length;
        }
      }
    } finally {
      this.#flushing = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #takeBatch(): PendingCall[] {
    const maxEvents = typeof this.#maxEvents === 'number' ? this.#maxEvents : this.#maxEvents();
    let events = 0;
    let count = 0;
    for (const call of this.#queue) {
      if (count > 0 && events + call.eventCount > maxEvents) break;
      events += call.eventCount;
      count++;
    }
    return this.#queue.splice(0, count);
  }
}
