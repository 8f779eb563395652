import { CallTimeoutError, CircuitBreakerOpenError } from './errors.js';

export interface CircuitBreakerSettings {
  /** Consecutive failures that open the breaker. */
  readonly maxFailures: number;
  /** A call slower than this counts as failed (its caller sees CallTimeoutError). */
  readonly callTimeoutMs: number;
  /** How long an open breaker refuses calls before letting one trial call through. */
  readonly resetTimeoutMs: number;
}

/** Receives the outcome of one `CircuitBreaker.run` call, exactly once. */
export interface BreakerCallback<T> {
  onCallSucceeded(result: T): void;
  onCallFailed(error: unknown): void;
}

class PendingCall<T> {
  /** The outcome was decided (answer or timeout): a later answer is dropped. */
  settled = false;

  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    readonly deadline: number,
    readonly callback: BreakerCallback<T>,
    readonly afterSettled: (() => void) | undefined,
  ) {}

  deliver(succeeded: boolean, value: unknown): void {
    try {
      if (succeeded) this.callback.onCallSucceeded(value as T);
      else this.callback.onCallFailed(value);
    } finally {
      this.afterSettled?.();
    }
  }
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
  #pending: PendingCall<unknown>[] = [];
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
    return new Promise<T>((resolve, reject) => {
      this.run(operation, action, undefined, { onCallSucceeded: resolve, onCallFailed: reject }, timeoutMs);
    });
  }

  /**
   * `call` without a promise of its own, for the journal's write path, where every allocation per
   * event shows in the throughput: `action(argument)` runs (a pre-bound function, so the caller builds
   * no closure per call), `callback` hears the outcome exactly once, then `afterSettled` runs. A
   * refusal by an open breaker is reported in a microtask, never from inside this call.
   */
  run<A, T>(
    operation: string,
    action: (argument: A) => Promise<T>,
    argument: A,
    callback: BreakerCallback<T>,
    timeoutMs = this.settings.callTimeoutMs,
    afterSettled?: () => void,
  ): void {
    const refusal = this.#refusal();
    if (refusal) {
      queueMicrotask(() => new PendingCall(operation, timeoutMs, 0, callback, afterSettled).deliver(false, refusal));
      return;
    }
    const pending = new PendingCall<T>(operation, timeoutMs, performance.now() + timeoutMs, callback, afterSettled);
    this.#track(pending as PendingCall<unknown>);
    let started: Promise<T>;
    try {
      started = action(argument);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (result) => this.#answered(pending, true, result),
      (error: unknown) => this.#answered(pending, false, error),
    );
  }

  #answered(pending: PendingCall<unknown>, succeeded: boolean, value: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#dropSettled();
    // The state is updated before the caller hears back: a call it starts from its callback already
    // sees the breaker this answer produced.
    if (succeeded) this.#succeeded();
    else this.#failed();
    pending.deliver(succeeded, value);
  }

  #timedOut(pending: PendingCall<unknown>): void {
    pending.settled = true;
    this.#failed();
    pending.deliver(false, new CallTimeoutError(this.storeName, pending.operation, pending.timeoutMs));
  }

  /** Why a call may not start now, if it may not: open, or half-open with the trial call out. */
  #refusal(): CircuitBreakerOpenError | undefined {
    const state = this.#state;
    if (state.kind === 'open') {
      const now = performance.now();
      if (now < state.until) return new CircuitBreakerOpenError(this.storeName, state.until - now);
      this.#transition({ kind: 'half-open' });
      return undefined;
    }
    if (state.kind === 'half-open') return new CircuitBreakerOpenError(this.storeName, 0);
    return undefined;
  }

  /**
   * Journal writes are the hot path: a timer per call would cost more than the in-memory write itself.
   * Calls with the default timeout expire in the order they started, so they wait in one FIFO watched
   * by a single timer armed for the oldest. Other timeouts (rare) get a timer of their own.
   */
  #track(pending: PendingCall<unknown>): void {
    const timeoutMs = pending.timeoutMs;
    if (timeoutMs >= MAX_TIMER_MS) return;
    if (timeoutMs !== this.settings.callTimeoutMs) {
      const timer = setTimeout(() => {
        if (!pending.settled) this.#timedOut(pending);
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
      pending[this.#head] = undefined as unknown as PendingCall<unknown>;
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
      if (!call.settled) this.#timedOut(call);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
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
