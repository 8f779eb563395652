/**
 * Deliveries an operator cancelled, remembered for `status`: a cancelled delivery leaves the
 * unconfirmed set like a confirmed one, so without this record it would look confirmed. Bounded by
 * `max`; ids whose record was pushed out are "forgotten" (the dead-letter book does the same).
 */
import type { CancelledDeliveriesSnapshot, CancelledDelivery } from './outbox-protocol.js';

export class CancelledDeliveries {
  readonly #cancelled = new Map<number, CancelledDelivery>();
  #forgottenUpTo = 0;

  constructor(readonly max: number) {}

  add(cancelled: CancelledDelivery): void {
    this.#cancelled.set(cancelled.deliveryId, cancelled);
    while (this.#cancelled.size > this.max) {
      const oldest = this.#cancelled.keys().next().value!;
      this.#cancelled.delete(oldest);
      this.#forgottenUpTo = Math.max(this.#forgottenUpTo, oldest);
    }
  }

  get(deliveryId: number): CancelledDelivery | undefined {
    return this.#cancelled.get(deliveryId);
  }

  /** Whether `deliveryId` may have been cancelled with no record left. */
  mayHaveForgotten(deliveryId: number): boolean {
    return deliveryId <= this.#forgottenUpTo;
  }

  snapshot(): CancelledDeliveriesSnapshot {
    return { deliveries: [...this.#cancelled.values()], forgottenUpTo: this.#forgottenUpTo };
  }

  /** From a snapshot; one written before cancellation existed has none. */
  restore(snapshot: CancelledDeliveriesSnapshot | undefined): void {
    if (snapshot === undefined) return;
    for (const cancelled of snapshot.deliveries) this.#cancelled.set(cancelled.deliveryId, cancelled);
    this.#forgottenUpTo = snapshot.forgottenUpTo;
  }
}
