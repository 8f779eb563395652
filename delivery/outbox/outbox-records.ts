/**
 * What the outbox keeps beside AtLeastOnceDelivery's own state (ids, the unconfirmed set): its
 * idempotency keys, where each unconfirmed payload lives and its size, the dead letters, the cancelled
 * deliveries, and counts over its whole life; and how these go into a snapshot and come back out.
 * The event handler (OutboxActor) writes them, queries and snapshots read them.
 */
import { CancelledDeliveries } from './cancelled-deliveries.js';
import { DeadLetterBook } from './dead-letter-book.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import type { OutboxSnapshot } from './outbox-protocol.js';
import { UnconfirmedPayloads } from './unconfirmed-payloads.js';

export interface RecordLimits {
  readonly maxUnconfirmedBytes: number;
  readonly maxIdempotencyKeys: number;
  /** Bounds the dead letters, the former dead letters and the cancelled deliveries alike. */
  readonly maxDeadLetters: number;
}

export class OutboxRecords {
  readonly keys: IdempotencyKeys;
  readonly payloads: UnconfirmedPayloads;
  readonly deadLetters: DeadLetterBook;
  readonly cancelled: CancelledDeliveries;
  accepted = 0;
  confirmed = 0;
  highestConfirmed = 0;

  constructor(limits: RecordLimits) {
    this.payloads = new UnconfirmedPayloads(limits.maxUnconfirmedBytes);
    this.keys = new IdempotencyKeys(limits.maxIdempotencyKeys);
    this.deadLetters = new DeadLetterBook(limits.maxDeadLetters);
    this.cancelled = new CancelledDeliveries(limits.maxDeadLetters);
  }

  /** The snapshot of these records with `delivery` (see outbox-snapshot-deliveries.ts) as its delivery part. */
  snapshot(delivery: OutboxSnapshot['delivery']): OutboxSnapshot {
    return {
      delivery,
      idempotencyKeys: this.keys.entries(),
      ...this.deadLetters.snapshotFields(),
      confirmedCount: this.confirmed,
      acceptedCount: this.accepted,
      highestConfirmed: this.highestConfirmed,
      cancelled: this.cancelled.snapshot(),
    };
  }

  /** Everything but the delivery part, which needs its payloads first (SnapshotPayloadReader). */
  restore(snapshot: OutboxSnapshot): void {
    this.keys.restore(snapshot.idempotencyKeys);
    this.deadLetters.restore(snapshot);
    this.cancelled.restore(snapshot.cancelled);
    this.accepted = snapshot.acceptedCount;
    this.confirmed = snapshot.confirmedCount;
    this.highestConfirmed = snapshot.highestConfirmed;
  }
}
