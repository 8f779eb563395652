/**
 * Runs actors that have messages. One run queue per system; each scheduled actor handles at most
 * `throughput` messages per turn before going to the back of the queue, so a busy actor cannot starve
 * the others.
 *
 * Turns are started from microtasks (low latency for ask round trips and promise continuations), but
 * all turns within one pass of the event loop share a time slice of `turnBudgetMs`: once it is spent,
 * the next turn waits for setImmediate, so timers and I/O are never starved by a flood of messages,
 * not even by actors whose async receives keep resolving in microtasks.
 */
export interface Runnable {
  /** Set by the dispatcher while the runnable sits in the run queue. */
  scheduled: boolean;
  /** Handles up to `limit` messages; the runnable reschedules itself if it has more. */
  run(limit: number): void;
}

export interface DispatcherSettings {
  readonly throughput: number;
  readonly turnBudgetMs: number;
}

export class Dispatcher {
  readonly #throughput: number;
  readonly #turnBudgetMs: number;
  #queue: Runnable[] = [];
  #head = 0;
  #running = false;
  #wakeupPending = false;
  #sliceActive = false;
  #sliceDeadline = 0;

  constructor(settings: DispatcherSettings) {
    this.#throughput = settings.throughput;
    this.#turnBudgetMs = settings.turnBudgetMs;
  }

  schedule(runnable: Runnable): void {
    if (runnable.scheduled) return;
    runnable.scheduled = true;
    this.#queue.push(runnable);
    if (!this.#running && !this.#wakeupPending) {
      this.#wakeupPending = true;
      queueMicrotask(this.#runTurn);
    }
  }

  readonly #endSlice = (): void => {
    this.#sliceActive = false;
  };

  readonly #runTurn = (): void => {
    this.#wakeupPending = false;
    let now = performance.now();
    if (!this.#sliceActive) {
      this.#sliceActive = true;
      this.#sliceDeadline = now + this.#turnBudgetMs;
      setImmediate(this.#endSlice);
    } else if (now > this.#sliceDeadline) {
      this.#deferToNextSlice();
      return;
    }
    this.#running = true;
    let sinceClockCheck = 0;
    try {
      while (this.#head < this.#queue.length) {
        const runnable = this.#queue[this.#head]!;
        this.#queue[this.#head] = undefined as unknown as Runnable;
        this.#head++;
        runnable.scheduled = false;
        runnable.run(this.#throughput);
        // Reading the clock costs more than handling a message; look at it every few runnables.
        if (++sinceClockCheck >= 8) {
          sinceClockCheck = 0;
          now = performance.now();
          if (now > this.#sliceDeadline) break;
        }
      }
    } finally {
      this.#running = false;
      this.#compact();
    }
    if (this.#head < this.#queue.length) this.#deferToNextSlice();
  };

  #deferToNextSlice(): void {
    if (this.#wakeupPending) return;
    this.#wakeupPending = true;
    setImmediate(this.#runTurn);
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
