import { InvalidOptionError } from '../src/actor/errors.js';

/** Plain-data form of ReceivedDeliveries, to keep in a receiver's snapshot. */
export interface ReceivedDeliveriesSnapshot {
  readonly senders: Readonly<Record<string, { readonly upTo: number; readonly above: readonly number[] }>>;
}

interface SenderWindow {
  /** Every delivery id <= upTo was applied. */
  upTo: number;
  /** Applied ids above `upTo` (gaps below them are still open). */
  above: Set<number>;
}

/**
 * What a receiver has applied, per sender, so that a redelivered duplicate is recognised and only
 * confirmed again. Delivery ids are monotonic per sender, so the state is a high-water mark plus the
 * few ids above it that arrived out of order: memory stays bounded however many messages a sender
 * delivers. Keep it inside the receiver's persisted state and update it in the same event handler that
 * applies the effect, so the record and the effect are persisted together.
 */
export class ReceivedDeliveries {
  readonly #senders = new Map<string, SenderWindow>();

  /** True if (senderId, deliveryId) was applied already. */
  has(senderId: string, deliveryId: number): boolean {
    const window = this.#senders.get(senderId);
    if (!window) return false;
    return deliveryId <= window.upTo || window.above.has(deliveryId);
  }

  /** Records (senderId, deliveryId) as applied; false if it already was. */
  add(senderId: string, deliveryId: number): boolean {
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 1) {
      throw new InvalidOptionError(`delivery ids are positive integers, got ${String(deliveryId)}`);
    }
    let window = this.#senders.get(senderId);
    if (!window) {
      window = { upTo: 0, above: new Set() };
      this.#senders.set(senderId, window);
    }
    if (deliveryId <= window.upTo || window.above.has(deliveryId)) return false;
    if (deliveryId === window.upTo + 1) {
      window.upTo = deliveryId;
      // Close the gap: ids that arrived early become part of the contiguous prefix.
      while (window.above.delete(window.upTo + 1)) window.upTo++;
    } else {
      window.above.add(deliveryId);
    }
    return true;
  }

  /**
   * Treats every id of `senderId` up to `deliveryId` as settled, e.g. when the sender reports that it
   * gave up on older deliveries. Without it, an id that never arrives keeps later ids in `above`.
   */
  advanceTo(senderId: string, deliveryId: number): void {
    // Unchecked, NaN or a fraction would become the high-water mark and make has() answer wrongly for every id.
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 0) {
      throw new InvalidOptionError(`advanceTo takes a delivery id >= 0, got ${String(deliveryId)}`);
    }
    const window = this.#senders.get(senderId) ?? { upTo: 0, above: new Set<number>() };
    if (deliveryId <= window.upTo) return;
    window.upTo = deliveryId;
    for (const id of window.above) if (id <= deliveryId) window.above.delete(id);
    while (window.above.delete(window.upTo + 1)) window.upTo++;
    this.#senders.set(senderId, window);
  }

  /** Ids kept beyond the high-water marks (what memory grows with). */
  get outOfOrderCount(): number {
    let count = 0;
    for (const window of this.#senders.values()) count += window.above.size;
    return count;
  }

  get senderCount(): number {
    return this.#senders.size;
  }

  toSnapshot(): ReceivedDeliveriesSnapshot {
    const senders: Record<string, { upTo: number; above: number[] }> = {};
    for (const [senderId, window] of this.#senders) {
      senders[senderId] = { upTo: window.upTo, above: [...window.above].sort((a, b) => a - b) };
    }
    return { senders };
  }

  static fromSnapshot(snapshot: ReceivedDeliveriesSnapshot): ReceivedDeliveries {
    const received = new ReceivedDeliveries();
    if (snapshot === null || typeof snapshot !== 'object' || typeof snapshot.senders !== 'object' || snapshot.senders === null) {
      throw new InvalidOptionError('ReceivedDeliveries.fromSnapshot needs the object returned by toSnapshot()');
    }
    for (const [senderId, window] of Object.entries(snapshot.senders)) {
      received.#senders.set(senderId, { upTo: window.upTo, above: new Set(window.above) });
    }
    return received;
  }
}
