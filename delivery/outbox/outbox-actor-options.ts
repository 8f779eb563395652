/** What an `OutboxActor` is started with (`Outbox.start` fills in the persistenceId). */
import type { AtLeastOnceDeliveryOptions } from '../at-least-once-delivery-actor.js';
import type { OutboxObserver } from './outbox-observer.js';

/** Default of `maxUnconfirmedBytes`: 256 MiB. */
export const DEFAULT_MAX_UNCONFIRMED_BYTES = 256 * 1024 * 1024;

export interface OutboxActorOptions extends AtLeastOnceDeliveryOptions {
  persistenceId: string;
  /** Take a snapshot after this many events. Default 1000. */
  snapshotEvery?: number;
  /** Snapshots kept; older ones are deleted once a newer one is saved. Default 2. */
  keepSnapshots?: number;
  /**
   * Delete the events no kept snapshot needs (those below the oldest kept snapshot and below the
   * `accepted` event of the oldest unconfirmed delivery it references). Default true (false before 0.2.0).
   */
  deleteEventsOnSnapshot?: boolean;
  /**
   * Serialized payload bytes of unconfirmed deliveries held at most; a send past it is refused with
   * MaxUnconfirmedBytesExceededError (a MaxUnconfirmedMessagesExceededError). Default 256 MiB.
   */
  maxUnconfirmedBytes?: number;
  /** Idempotency keys remembered (oldest forgotten first). Default 100 000. */
  maxIdempotencyKeys?: number;
  /**
   * Dead-lettered deliveries kept for inspection and redrive, and as many former dead letters
   * (redriven or dropped), and as many cancelled deliveries, remembered for `status`. Default 10 000.
   */
  maxDeadLetters?: number;
  /** Callbacks for metrics and logs (outbox-observer.ts): what this process accepts, confirms, fails, dead-letters. */
  observer?: OutboxObserver;
}
