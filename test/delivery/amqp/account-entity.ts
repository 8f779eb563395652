/**
 * The entity used by the RabbitMQ end-to-end tests, the crash test and the benchmark: an account that
 * is credited by deliveries `{ account, n, amount }`. It records every `n` it applied, so a test can
 * tell "applied once" from "applied twice" from "missing" by reading the entity's state or journal.
 */
import { DeduplicatingEntity, type DeduplicatingEntityOptions, type InboundDelivery } from '../../../delivery/amqp/index.js';
import type { SteadfastInboundMessage } from '../../../delivery/amqp/index.js';

export interface AccountState {
  readonly balance: number;
  /** Every `n` applied, in order of application. */
  readonly applied: readonly number[];
}

export interface Credited {
  readonly type: 'credited';
  readonly n: number;
  readonly amount: number;
}

export interface CreditPayload {
  readonly account: string;
  readonly n: number;
  readonly amount: number;
  readonly [key: string]: string | number;
}

export function creditPayload(n: number, accounts: number): CreditPayload {
  return { account: `acct-${n % accounts}`, n, amount: 1 };
}

export function accountOf(message: SteadfastInboundMessage): string {
  const body = message.body as { account?: unknown };
  if (typeof body?.account !== 'string') throw new Error(`message ${message.messageId} names no account`);
  return body.account;
}

export class AccountEntity extends DeduplicatingEntity<AccountState, Credited> {
  constructor(accountId: string, options: DeduplicatingEntityOptions = {}) {
    super(`account-${accountId}`, { balance: 0, applied: [] }, options);
  }

  protected applyDelivery(delivery: InboundDelivery): Credited[] {
    const { n, amount } = delivery.body as { n: number; amount: number };
    if (amount < 0) throw new Error(`negative amount in ${delivery.messageId}`);
    return [{ type: 'credited', n, amount }];
  }

  protected applyEvent(state: AccountState, event: Credited): AccountState {
    return { balance: state.balance + event.amount, applied: [...state.applied, event.n] };
  }
}
