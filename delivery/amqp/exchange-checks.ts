/**
 * Whether the broker has an exchange, asked with a passive declare on a channel of its own and
 * remembered for a while. Publishing to an exchange that does not exist makes RabbitMQ close the
 * channel (404): on the transport's shared confirm channel that fails every publish in flight and
 * stalls the rest until it is re-opened, so an exchange is checked before the first publish to it, and
 * a missing one refuses its deliveries without touching that channel.
 */
import type { AmqpConnectionManager } from './connection-manager.js';
import { describe } from './errors.js';

export type ExchangeCheck =
  | { readonly status: 'exists' }
  /** `reason` is the broker's own reply, e.g. `NOT_FOUND - no exchange 'orders' in vhost '/'`. */
  | { readonly status: 'missing'; readonly reason: string }
  /** The broker could not be asked (not connected, ...): neither answer is known. */
  | { readonly status: 'unknown'; readonly reason: string };

/** An exchange seen to exist is checked again after this long (a deletion meanwhile is noticed on its 404 anyway). */
const EXISTS_FOR_MS = 30_000;
/** A missing exchange is asked about again after this long: created meanwhile, it is used from then on. */
const MISSING_FOR_MS = 2_000;

interface Verdict {
  readonly check: ExchangeCheck;
  readonly until: number;
}

export class ExchangeChecks {
  readonly #verdicts = new Map<string, Verdict>();
  readonly #asking = new Map<string, Promise<ExchangeCheck>>();

  constructor(private readonly manager: AmqpConnectionManager) {}

  /** The remembered answer while it is fresh, else undefined (then `check`). Synchronous: the publish path asks it every time. */
  cached(exchange: string): ExchangeCheck | undefined {
    const verdict = this.#verdicts.get(exchange);
    if (verdict === undefined) return undefined;
    if (verdict.until > performance.now()) return verdict.check;
    this.#verdicts.delete(exchange);
    return undefined;
  }

  /** Asks the broker (one question per exchange at a time), unless a fresh answer is remembered. */
  check(exchange: string): Promise<ExchangeCheck> {
    const cached = this.cached(exchange);
    if (cached !== undefined) return Promise.resolve(cached);
    let asking = this.#asking.get(exchange);
    if (asking === undefined) {
      asking = this.#ask(exchange).finally(() => this.#asking.delete(exchange));
      this.#asking.set(exchange, asking);
    }
    return asking;
  }

  /** The broker closed a channel because the exchange does not exist (a publish raced its deletion). */
  noteMissing(exchange: string, reason: string): void {
    this.#remember(exchange, { status: 'missing', reason });
  }

  async #ask(exchange: string): Promise<ExchangeCheck> {
    if (!this.manager.isConnected) return { status: 'unknown', reason: 'not connected to RabbitMQ' };
    try {
      await this.manager.withTemporaryChannel((channel) => channel.checkExchange(exchange));
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return this.#remember(exchange, { status: 'missing', reason: brokerReplyText(error) });
      return { status: 'unknown', reason: describe(error) };
    }
    return this.#remember(exchange, { status: 'exists' });
  }

  #remember(exchange: string, check: ExchangeCheck): ExchangeCheck {
    if (this.#verdicts.size > 10_000) this.#verdicts.clear();
    this.#verdicts.set(exchange, { check, until: performance.now() + (check.status === 'exists' ? EXISTS_FOR_MS : MISSING_FOR_MS) });
    return check;
  }
}

/**
 * The broker's reply text out of amqplib's message (`Operation failed: ExchangeDeclare; 404 (NOT-FOUND)
 * with message "NOT_FOUND - no exchange 'x' in vhost '/'"`), which is what an operator can act on.
 */
export function brokerReplyText(error: unknown): string {
  const message = describe(error);
  return /with message "(.*)"$/s.exec(message)?.[1] ?? message;
}

/** The exchange a broker's NOT_FOUND reply names, if it names one. */
export function missingExchangeOf(replyText: string): string | undefined {
  return /^NOT_FOUND - no exchange '(.*)' in vhost '.*'$/s.exec(replyText)?.[1];
}
