/**
 * The outbox's idempotency keys: which delivery id a key was given, and who waits for a key whose
 * `accepted` event is still being persisted (a retry that arrives meanwhile gets the same id, not a
 * second delivery). At most `max` keys are remembered, the oldest forgotten first.
 */
import type { ActorRef } from '../../src/actor/actor-ref.js';

export class IdempotencyKeys {
  readonly #keys = new Map<string, number>();
  readonly #pending = new Map<string, ActorRef[]>();

  constructor(private readonly max: number) {}

  idOf(key: string): number | undefined {
    return this.#keys.get(key);
  }

  /** Whether `key` is being persisted; if so, `waiter` is answered when it is. */
  waitIfPending(key: string, waiter: ActorRef): boolean {
    const waiting = this.#pending.get(key);
    if (waiting === undefined) return false;
    waiting.push(waiter);
    return true;
  }

  markPending(key: string): void {
    this.#pending.set(key, []);
  }

  /** The key's `accepted` event was persisted (or refused): returns who waited for it, and forgets them. */
  settle(key: string): readonly ActorRef[] {
    const waiting = this.#pending.get(key) ?? [];
    this.#pending.delete(key);
    return waiting;
  }

  remember(key: string, deliveryId: number): void {
    this.#keys.set(key, deliveryId);
    while (this.#keys.size > this.max) this.#keys.delete(this.#keys.keys().next().value!);
  }

  entries(): [string, number][] {
    return [...this.#keys.entries()];
  }

  restore(entries: readonly (readonly [string, number])[]): void {
    for (const [key, id] of entries) this.#keys.set(key, id);
  }
}
