/**
 * Rates for the dashboard's chart: the outbox's counters sampled every few seconds (whether or not a
 * page is open, so a page opened now shows the last minutes), kept as per-second rates in a ring of
 * bounded size.
 */
import type { OutboxStats } from '../delivery/outbox/outbox-protocol.js';

/** Per second over the interval that ended at `at` (wall-clock ms). */
export interface RateSample {
  readonly at: number;
  readonly accepted: number;
  readonly confirmed: number;
  readonly failed: number;
}

type Counters = Pick<OutboxStats, 'accepted' | 'confirmed' | 'failed'>;

export interface RateHistoryOptions {
  /** How often the counters are read, ms. */
  readonly intervalMs: number;
  /** How many samples are kept (intervalMs × samples is the span of the chart). */
  readonly samples: number;
  /** The counters now; undefined while there is no outbox (standby, recovering): a gap in the chart. */
  readonly read: () => Promise<Counters | undefined>;
  readonly now?: () => number;
}

export class RateHistory {
  readonly #options: RateHistoryOptions;
  readonly #samples: RateSample[] = [];
  #last: (Counters & { readonly at: number }) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(options: RateHistoryOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sample(), this.#options.intervalMs);
    // Sampling alone must not keep the process alive.
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Oldest first. */
  series(): readonly RateSample[] {
    return this.#samples;
  }

  /** Reads the counters once (the timer calls it; tests may too). */
  async sample(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const counters = await this.#options.read().catch(() => undefined);
      this.#record(counters);
    } finally {
      this.#reading = false;
    }
  }

  #record(counters: Counters | undefined): void {
    const at = (this.#options.now ?? Date.now)();
    const last = this.#last;
    this.#last = counters === undefined ? undefined : { ...counters, at };
    if (counters === undefined || last === undefined || at <= last.at) return;
    const seconds = (at - last.at) / 1000;
    // A counter that went down started again (a new outbox incarnation): it counted from 0.
    const rate = (now: number, before: number) => (now >= before ? now - before : now) / seconds;
    this.#samples.push({
      at,
      accepted: rate(counters.accepted, last.accepted),
      confirmed: rate(counters.confirmed, last.confirmed),
      failed: rate(counters.failed, last.failed),
    });
    if (this.#samples.length > this.#options.samples) this.#samples.shift();
  }
}
