/**
 * How many events the next group-commit transaction may take. better-sqlite3 commits on the event loop,
 * so a transaction's inserts and its COMMIT (WAL write and fsync) are time the loop is blocked; but every
 * COMMIT also costs an fsync, so small transactions throttle a thousand concurrent writers. The size is
 * therefore set by time: as many events as fit in `budgetMs` at the insert cost measured so far, after
 * the COMMIT's own measured cost. A COMMIT slower than the budget (a slow disk) is paid whatever the
 * size, so the inserts still get half the budget then: shrinking transactions would only add fsyncs.
 * Bounded by `maxEvents` (the hard cap an operator sets) and `MIN_EVENTS`.
 */

/** Fewer events than this per transaction would add fsyncs without making a turn measurably shorter. */
const MIN_EVENTS = 32;
/** Until anything was measured: small enough for any machine. */
const FIRST_EVENTS = 128;
/** Weight of the newest measurement: a few transactions smooth out one that was descheduled midway. */
const WEIGHT = 0.2;

export class TransactionSizer {
  readonly #budgetMs: number;
  readonly #maxEvents: number;
  #insertMsPerEvent: number | undefined;
  #commitMs = 0;
  #next: number;

  constructor(budgetMs: number, maxEvents: number) {
    this.#budgetMs = budgetMs;
    this.#maxEvents = maxEvents;
    this.#next = Math.min(maxEvents, FIRST_EVENTS);
  }

  /** Events the next transaction may take. */
  get nextSize(): number {
    return this.#next;
  }

  /** What a committed transaction of `events` events cost: its inserts and its COMMIT, in ms. */
  record(events: number, insertMs: number, commitMs: number): void {
    if (events <= 0) return;
    const perEvent = insertMs / events;
    if (this.#insertMsPerEvent === undefined) {
      this.#insertMsPerEvent = perEvent;
      this.#commitMs = commitMs;
    } else {
      this.#insertMsPerEvent += WEIGHT * (perEvent - this.#insertMsPerEvent);
      this.#commitMs += WEIGHT * (commitMs - this.#commitMs);
    }
    const forInserts = Math.max(this.#budgetMs - this.#commitMs, this.#budgetMs / 2);
    const fitting = Math.floor(forInserts / Math.max(this.#insertMsPerEvent, 1e-6));
    this.#next = Math.max(Math.min(MIN_EVENTS, this.#maxEvents), Math.min(this.#maxEvents, fitting));
  }
}
