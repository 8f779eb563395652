import { CallTimeoutError, CircuitBreakerOpenError } from './errors.js';

export interface CircuitBreakerSettings {
  /** Consecutive failures that open the breaker. */
  readonly maxFailures: number;
  /** A call slower than this counts as failed (its caller sees CallTimeoutError). */
  readonly callTimeoutMs: number;
  /** How long an open breaker refuses calls before letting one trial call through. */
  readonly resetTimeoutMs: number;
}

interface PendingCall {
  readonly deadline: number;
  settled: boolean;
  timeOut(): void;
}

// Longer timeouts mean "no call timeout" (setTimeout cannot wait longer anyway).
const MAX_TIMER_MS = 2_147_483_647;

type BreakerState = { readonly kind: 'closed' } | { readonly kind: 'open'; readonly until: number } | { readonly kind: 'half-open' };

/**
 * Akka's CircuitBreaker around a store: after `maxFailures` consecutive failures, calls fail at once
 * for `resetTimeoutMs`, so a failing database is not hammered by every actor's retries; then one
 * trial call decides whether to close again.
 */
export class CircuitBreaker {
  #state: BreakerState = { kind: 'closed' };
  #failures = 0;
  #pending: PendingCall[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly storeName: string,
    private readonly settings: CircuitBreakerSettings,
    private readonly onStateChange: (state: 'open' | 'closed' | 'half-open') => void = () => {},
  ) {}

  get state(): BreakerState['kind'] {
    return this.#state.kind;
  }

  call<T>(operation: string, action: () => Promise<T>, timeoutMs = this.settings.callTimeoutMs): Promise<T> {
    const state = this.#state;
    if (state.kind === 'open') {
      const now = performance.now();
      if (now < state.until) return Promise.reject(new CircuitBreakerOpenError(this.storeName, state.until - now));
      this.#transition({ kind: 'half-open' });
    } else if (state.kind === 'half-open') {
      return Promise.reject(new CircuitBreakerOpenError(this.storeName, 0));
    }
    return new Promise<T>((resolve, reject) => {
      const pending: PendingCall = {
        deadline: performance.now() + timeoutMs,
        settled: false,
        timeOut: () => {
          pending.settled = true;
          this.#failed();
          reject(new CallTimeoutError(this.storeName, operation, timeoutMs));
        },
      };
      this.#track(pending, timeoutMs);
      let started: Promise<T>;
      try {
        started = action();
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        (result) => {
          if (pending.settled) return;
          pending.settled = true;
          this.#dropSettled();
          this.#succeeded();
          resolve(result);
        },
        (error: unknown) => {
          if (pending.settled) return;
          pending.settled = true;
          this.#dropSettled();
          this.#failed();
          reject(error);
        },
      );
    });
  }

  /**
   * Journal writes are the hot path: a timer per call would cost more than the in-memory write itself.
   * Calls with the default timeout expire in the order they started, so they wait in one FIFO watched
   * by a single timer armed for the oldest. Other timeouts (rare) get a timer of their own.
   */
  #track(pending: PendingCall, timeoutMs: number): void {
    if (timeoutMs >= MAX_TIMER_MS) return;
    if (timeoutMs !== this.settings.callTimeoutMs) {
      const timer = setTimeout(() => {
        if (!pending.settled) pending.timeOut();
      }, timeoutMs);
      timer.unref?.();
      return;
    }
    this.#pending.push(pending);
    if (this.#timer === undefined) this.#arm();
  }

  /** Calls mostly finish in the order they started: forget finished ones at the head right away. */
  #dropSettled(): void {
    const pending = this.#pending;
    while (this.#head < pending.length && pending[this.#head]!.settled) {
      pending[this.#head] = undefined as unknown as PendingCall;
      this.#head++;
    }
    if (this.#head === pending.length && this.#head > 0) {
      // The timer stays armed (it is unref'd): when it fires with nothing to expire it just stops,
      // which is cheaper than clearing and re-arming it around every single call.
      pending.length = 0;
      this.#head = 0;
    }
  }

  #arm(): void {
    const pending = this.#pending;
    while (this.#head < pending.length && pending[this.#head]!.settled) this.#head++;
    if (this.#head === pending.length) {
      pending.length = 0;
      this.#head = 0;
      this.#timer = undefined;
      return;
    }
    const delay = Math.max(0, pending[this.#head]!.deadline - performance.now());
    this.#timer = setTimeout(this.#expire, Math.ceil(delay));
    // It only watches for hung calls; it must not keep an otherwise finished process alive.
    this.#timer.unref?.();
  }

  readonly #expire = (): void => {
    const now = performance.now();
    const pending = this.#pending;
    while (this.#head < pending.length) {
      const call = pending[this.#head]!;
      if (!call.settled && call.deadline > now) break;
      this.#head++;
      if (!call.settled) call.timeOut();
    }
    if (this.#head > 1024 && this.#head * 2 > pending.length) {
      this.#pending = pending.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  };

  #succeeded(): void {
    this.#failures = 0;
    if (this.#state.kind !== 'closed') this.#transition({ kind: 'closed' });
  }

  #failed(): void {
    this.#failures++;
    if (this.#state.kind === 'half-open' || this.#failures >= this.settings.maxFailures) {
      this.#transition({ kind: 'open', until: performance.now() + this.settings.resetTimeoutMs });
    }
  }

  #transition(next: BreakerState): void {
    this.#state = next;
    this.onStateChange(next.kind);
  }
}
