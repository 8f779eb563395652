import { CallTimeoutError, CircuitBreakerOpenError } from './errors.js';

export interface CircuitBreakerSettings {
  /** Consecutive failures that open the breaker. */
  readonly maxFailures: number;
  /** A call slower than this counts as failed (its caller sees CallTimeoutError). */
  readonly callTimeoutMs: number;
  /** How long an open breaker refuses calls before letting one trial call through. */
  readonly resetTimeoutMs: number;
}

type BreakerState = { readonly kind: 'closed' } | { readonly kind: 'open'; readonly until: number } | { readonly kind: 'half-open' };

/**
 * Akka's CircuitBreaker around a store: after `maxFailures` consecutive failures, calls fail at once
 * for `resetTimeoutMs`, so a failing database is not hammered by every actor's retries; then one
 * trial call decides whether to close again.
 */
export class CircuitBreaker {
  #state: BreakerState = { kind: 'closed' };
  #failures = 0;

  constructor(
    private readonly storeName: string,
    private readonly settings: CircuitBreakerSettings,
    private readonly onStateChange: (state: 'open' | 'closed' | 'half-open') => void = () => {},
  ) {}

  get state(): BreakerState['kind'] {
    return this.#state.kind;
  }

  async call<T>(operation: string, action: () => Promise<T>, timeoutMs = this.settings.callTimeoutMs): Promise<T> {
    const state = this.#state;
    if (state.kind === 'open') {
      const now = performance.now();
      if (now < state.until) throw new CircuitBreakerOpenError(this.storeName, state.until - now);
      this.#transition({ kind: 'half-open' });
    } else if (state.kind === 'half-open') {
      throw new CircuitBreakerOpenError(this.storeName, 0);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        action(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CallTimeoutError(this.storeName, operation, timeoutMs)), timeoutMs);
        }),
      ]);
      this.#succeeded();
      return result;
    } catch (error) {
      this.#failed();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

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
