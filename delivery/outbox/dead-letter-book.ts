/**
 * The outbox's dead letters (deliveries given up after `deadLetterAfterAttempts`, kept for inspection
 * and redrive) and what became of former ones (redriven under a new id, or dropped past
 * `maxDeadLetters`): without that record a redriven or dropped id would look confirmed, since it left
 * the unconfirmed set too. Both are bounded by `max`; ids whose record was pushed out are "forgotten".
 * A cancelled dead letter leaves the book; its record is CancelledDeliveries'.
 */
import type { DeadLetteredDelivery, DeliveryStatus, FormerDeadLetter, OutboxSnapshot } from './outbox-protocol.js';

export class DeadLetterBook {
  readonly #deadLetters = new Map<number, DeadLetteredDelivery>();
  readonly #former = new Map<number, FormerDeadLetter>();
  #forgottenUpTo = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.#deadLetters.size;
  }

  get(deliveryId: number): DeadLetteredDelivery | undefined {
    return this.#deadLetters.get(deliveryId);
  }

  has(deliveryId: number): boolean {
    return this.#deadLetters.has(deliveryId);
  }

  ids(): number[] {
    return [...this.#deadLetters.keys()];
  }

  list(): DeadLetteredDelivery[] {
    return [...this.#deadLetters.values()];
  }

  /** Adds a dead letter; returns the oldest ones dropped to stay within `max` (never delivered now). */
  add(dead: DeadLetteredDelivery): DeadLetteredDelivery[] {
    this.#deadLetters.set(dead.deliveryId, dead);
    const dropped: DeadLetteredDelivery[] = [];
    while (this.#deadLetters.size > this.max) {
      const oldest = this.#deadLetters.values().next().value!;
      this.#deadLetters.delete(oldest.deliveryId);
      this.#remember({ deliveryId: oldest.deliveryId, outcome: 'dropped', reason: oldest.reason, attempts: oldest.attempts, destination: oldest.destination });
      dropped.push(oldest);
    }
    return dropped;
  }

  /**
   * Takes `deliveryId` out, for a redrive (`redriven(...)` records the new id once it is delivered again)
   * or a cancellation (CancelledDeliveries keeps that record).
   */
  take(deliveryId: number): DeadLetteredDelivery | undefined {
    const dead = this.#deadLetters.get(deliveryId);
    if (dead) this.#deadLetters.delete(deliveryId);
    return dead;
  }

  redriven(deliveryId: number, redrivenAs: number): void {
    this.#remember({ deliveryId, outcome: 'redriven', redrivenAs });
  }

  wasRedriven(deliveryId: number): boolean {
    return this.#former.get(deliveryId)?.outcome === 'redriven';
  }

  /** The status of an id that is not in flight, if this book knows it; `finished` for one it has no record of. */
  statusOf(deliveryId: number): DeliveryStatus | 'finished' {
    const dead = this.#deadLetters.get(deliveryId);
    if (dead) return { status: 'dead-lettered', deliveryId, reason: dead.reason, attempts: dead.attempts, destination: dead.destination };
    const former = this.#former.get(deliveryId);
    if (former?.outcome === 'redriven') return { status: 'redriven', deliveryId, redrivenAs: former.redrivenAs };
    if (former?.outcome === 'dropped') return { status: 'dropped', deliveryId, reason: former.reason, attempts: former.attempts, destination: former.destination };
    return deliveryId <= this.#forgottenUpTo ? { status: 'forgotten', deliveryId } : 'finished';
  }

  snapshotFields(): Pick<OutboxSnapshot, 'deadLetters' | 'formerDeadLetters' | 'outcomesForgottenUpTo'> {
    return { deadLetters: this.list(), formerDeadLetters: [...this.#former.values()], outcomesForgottenUpTo: this.#forgottenUpTo };
  }

  restore(snapshot: OutboxSnapshot): void {
    for (const dead of snapshot.deadLetters) this.#deadLetters.set(dead.deliveryId, dead);
    if (snapshot.formerDeadLetters !== undefined) {
      for (const former of snapshot.formerDeadLetters) this.#former.set(former.deliveryId, former);
      this.#forgottenUpTo = snapshot.outcomesForgottenUpTo ?? 0;
      return;
    }
    // An older snapshot without the record. Every id handed out is in flight, dead-lettered,
    // confirmed, redriven or dropped; if the counts leave none for the last two, no id is mistaken
    // for confirmed. Otherwise the ids up to the counter cannot be told apart any more.
    const { delivery, deadLetters, confirmedCount } = snapshot;
    const formerCount = delivery.currentDeliveryId - delivery.unconfirmedDeliveries.length - deadLetters.length - confirmedCount;
    if (formerCount > 0) this.#forgottenUpTo = delivery.currentDeliveryId;
  }

  #remember(former: FormerDeadLetter): void {
    this.#former.set(former.deliveryId, former);
    while (this.#former.size > this.max) {
      const oldest = this.#former.keys().next().value!;
      this.#former.delete(oldest);
      this.#forgottenUpTo = Math.max(this.#forgottenUpTo, oldest);
    }
  }
}
