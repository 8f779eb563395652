/**
 * Gathers the journal writes that persistent actors issue in one microtask checkpoint into one
 * `writeMessages` call. Each actor's write pipeline sends its own write (one AtomicWrite per persist
 * call, at most one in flight per actor); with a thousand busy actors that was a thousand calls, each
 * with its breaker bookkeeping, promise and journal-side queue entry, for writes a group-committing
 * journal then put into one transaction anyway. The outcomes come back per AtomicWrite, so each caller
 * gets exactly its own; a failure of the whole call fails every caller in it, as a failed group commit
 * always did.
 */
import type { BreakerCallback } from './circuit-breaker.js';
import type { WriteOutcome } from './journal.js';
import type { AtomicWrite } from './persistent-repr.js';

interface Caller {
  readonly callback: BreakerCallback<readonly WriteOutcome[]>;
  readonly count: number;
}

export type GatheredSend = (writes: readonly AtomicWrite[], callback: BreakerCallback<readonly WriteOutcome[]>, callers: number) => void;

export class WriteGatherer {
  #writes: AtomicWrite[] = [];
  #callers: Caller[] = [];
  #scheduled = false;

  constructor(private readonly send: GatheredSend) {}

  add(writes: readonly AtomicWrite[], callback: BreakerCallback<readonly WriteOutcome[]>): void {
    for (const write of writes) this.#writes.push(write);
    this.#callers.push({ callback, count: writes.length });
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const writes = this.#writes;
    const callers = this.#callers;
    this.#writes = [];
    this.#callers = [];
    if (callers.length === 1) {
      this.send(writes, callers[0]!.callback, 1);
      return;
    }
    this.send(
      writes,
      {
        onCallSucceeded: (outcomes) => {
          let offset = 0;
          for (const { callback, count } of callers) {
            const own = outcomes.slice(offset, offset + count);
            offset += count;
            deliver(() => callback.onCallSucceeded(own));
          }
        },
        onCallFailed: (error) => {
          for (const { callback } of callers) deliver(() => callback.onCallFailed(error));
        },
      },
      callers.length,
    );
  };
}

/** One caller's callback throwing must not keep the others from hearing their outcome. */
function deliver(report: () => void): void {
  try {
    report();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
