import type { PlainDestination } from '../destination.js';
import type { AtLeastOnceDeliverySnapshot } from '../messages.js';
import type { JsonValue } from '../transport.js';
import type { TraceCarrier } from '../tracing/trace-context.js';

/** Commands the outbox actor handles (its facade, `Outbox`, sends them). */
export class OutboxSend {
  constructor(
    readonly destination: PlainDestination,
    readonly payload: JsonValue,
    readonly idempotencyKey: string | undefined,
    /** With a key: the hash of the request (`requestHashOf`), so a key reused for another request is refused. */
    readonly requestHash?: string,
    /** The trace the delivery continues (the accept span's, or the caller's), validated. */
    readonly trace?: TraceCarrier,
  ) {}
}

/**
 * Cancels a delivery: it is forgotten (never sent again) and its status says `cancelled`. `of` says
 * what it must be for that: in flight (`Outbox.cancel`) or a dead letter (`Outbox.cancelDeadLetter`);
 * anything else is left alone and its status answered.
 */
export class OutboxCancel {
  constructor(
    readonly deliveryId: number,
    readonly of: 'in-flight' | 'dead-letter' = 'in-flight',
  ) {}
}

/** A page of in-flight deliveries or dead letters, by delivery id: those after `after`, at most `limit`. */
export class OutboxListPage {
  constructor(
    readonly what: 'in-flight' | 'dead-letters',
    readonly after: number,
    readonly limit: number,
    /** Only the items it accepts are listed and counted (ListOptions.where). */
    readonly where?: (item: never) => boolean,
  ) {}
}

export interface OutboxPage<T> {
  /** How many there are in all (not only on this page). */
  readonly total: number;
  readonly items: readonly T[];
  /** The last id of this page when more follow (pass it as `after`), else undefined. */
  readonly nextAfter: number | undefined;
}

export class OutboxQuery {
  constructor(readonly what: 'in-flight' | 'dead-letters' | 'stats' | 'delivery') {}
}

export class OutboxDeliveryStatus {
  constructor(readonly deliveryId: number) {}
}

export class OutboxRedrive {
  /** undefined: every dead-lettered delivery. */
  constructor(readonly deliveryId: number | undefined) {}
}

export interface SendAccepted {
  readonly deliveryId: number;
  /** True when the idempotency key was seen before: nothing new was sent. */
  readonly duplicate: boolean;
}

export interface DeadLetteredDelivery {
  readonly deliveryId: number;
  readonly destination: PlainDestination;
  readonly payload: JsonValue;
  readonly attempts: number;
  readonly reason: string;
  readonly deadLetteredAt: number;
}

export interface OutboxStats {
  readonly accepted: number;
  /** Sends by this incarnation (first sends and redeliveries). */
  readonly sent: number;
  readonly redelivered: number;
  /** Attempts a transport reported as failed, this incarnation. */
  readonly failed: number;
  readonly confirmed: number;
  readonly deadLettered: number;
  readonly inFlight: number;
  /** Serialized payload bytes of the deliveries in flight (bounded by `maxUnconfirmedBytes`). */
  readonly inFlightBytes: number;
  readonly lastSequenceNr: number;
}

/** What became of a dead letter that is no longer one. */
export type FormerDeadLetter =
  /** Sent again under the delivery id `redrivenAs` (follow that id for the rest of the story). */
  | { readonly deliveryId: number; readonly outcome: 'redriven'; readonly redrivenAs: number }
  /** Pushed out of the dead letters past `maxDeadLetters`: it is not delivered, nor can it be redriven. */
  | { readonly deliveryId: number; readonly outcome: 'dropped'; readonly reason: string; readonly attempts: number; readonly destination: PlainDestination };

/**
 * What became of a delivery id. `confirmed`: the destination confirmed it. `cancelled`: an operator
 * cancelled it, in flight or as a dead letter. `forgotten`: it is done (confirmed, cancelled, or
 * dead-lettered and then redriven or dropped), but which is no longer remembered: the outbox keeps
 * `maxDeadLetters` former dead letters and cancelled deliveries. `unknown`: this outbox never handed out the id.
 */
export type DeliveryStatus =
  | { readonly status: 'in-flight'; readonly deliveryId: number; readonly attempts: number; readonly lastError: string | undefined; readonly destination: PlainDestination }
  | { readonly status: 'dead-lettered'; readonly deliveryId: number; readonly reason: string; readonly attempts: number; readonly destination: PlainDestination }
  | { readonly status: 'redriven'; readonly deliveryId: number; readonly redrivenAs: number }
  | { readonly status: 'dropped'; readonly deliveryId: number; readonly reason: string; readonly attempts: number; readonly destination: PlainDestination }
  | ({ readonly status: 'cancelled' } & CancelledDelivery)
  | { readonly status: 'confirmed' | 'forgotten' | 'unknown'; readonly deliveryId: number };

/** A delivery an operator cancelled while it was in flight, or as a dead letter: it is never sent again. */
export interface CancelledDelivery {
  readonly deliveryId: number;
  readonly attempts: number;
  readonly cancelledAt: number;
}

/** Events of the outbox (plain data, stored in the journal). */
export type OutboxEvent =
  | {
      readonly type: 'accepted';
      readonly destination: PlainDestination;
      readonly payload: JsonValue;
      readonly idempotencyKey?: string;
      /** With a key, since 0.2.0: what the key was used for (see idempotency-keys.ts); absent in older events. */
      readonly requestHash?: string;
      readonly acceptedAt: number;
      /** The W3C trace headers of the delivery, when it has a trace; absent in older events. */
      readonly trace?: TraceCarrier;
    }
  /** Confirmations that arrived while the previous ones were being written share one event. */
  | { readonly type: 'confirmed'; readonly deliveryIds: readonly number[] }
  /** One confirmation per event: written by versions before confirmations were batched; still replayed. */
  | { readonly type: 'confirmed'; readonly deliveryId: number }
  | { readonly type: 'dead-lettered'; readonly deliveryId: number; readonly reason: string; readonly attempts: number; readonly at: number }
  | { readonly type: 'redriven'; readonly deliveryIds: readonly number[] }
  /** An operator cancelled the delivery: it is forgotten like a confirmed one, and never sent again. */
  | { readonly type: 'cancelled'; readonly deliveryId: number; readonly attempts: number; readonly at: number }
  /**
   * An operator cancelled (discarded) the dead letter: it leaves the dead letters for good and cannot be
   * redriven. Its own type, not `cancelled`: an in-flight cancel that lost to the dead-lettering is
   * written after it, and must stay a no-op on replay.
   */
  | { readonly type: 'dead-letter-cancelled'; readonly deliveryId: number; readonly at: number }
  /** Deliveries a redelivery pass sent again, as [deliveryId, attempt]: attempt counts survive a restart. */
  | { readonly type: 'attempted'; readonly attempts: readonly (readonly [number, number])[] };

/**
 * One unconfirmed delivery in an outbox snapshot. Since 0.2.0 its payload stays in the journal: the
 * snapshot names the `accepted` event that holds it (`payloadAt`), and recovery reads it back from
 * there. A payload with no such event (a redriven dead letter), an old one inlined so that it does not
 * pin the journal, and every entry of a snapshot written before 0.2.0 carry `message` instead.
 */
export type OutboxSnapshotDelivery = Omit<AtLeastOnceDeliverySnapshot['unconfirmedDeliveries'][number], 'message'> &
  ({ readonly message: JsonValue; readonly payloadAt?: undefined } | { readonly payloadAt: number; readonly message?: undefined });

/** The outbox's snapshot: delivery state plus what it must remember to stay idempotent. */
export interface OutboxSnapshot {
  readonly delivery: { readonly currentDeliveryId: number; readonly unconfirmedDeliveries: readonly OutboxSnapshotDelivery[] };
  /** [key, deliveryId, requestHash?]: the hash is absent for keys accepted before 0.2.0. */
  readonly idempotencyKeys: readonly IdempotencyKeyEntry[];
  readonly deadLetters: readonly DeadLetteredDelivery[];
  readonly confirmedCount: number;
  readonly acceptedCount: number;
  readonly highestConfirmed: number;
  /** Absent in snapshots written before the outbox kept them (they still load; see OutboxActor). */
  readonly formerDeadLetters?: readonly FormerDeadLetter[];
  /** Ids up to this one may have been redriven or dropped with no record left (status: forgotten). */
  readonly outcomesForgottenUpTo?: number;
  /** Absent in snapshots written before deliveries could be cancelled. */
  readonly cancelled?: CancelledDeliveriesSnapshot;
}

export type IdempotencyKeyEntry = readonly [key: string, deliveryId: number, requestHash?: string];

export interface CancelledDeliveriesSnapshot {
  readonly deliveries: readonly CancelledDelivery[];
  /** Cancelled ids up to this one may have been pushed out of `deliveries` (status: forgotten). */
  readonly forgottenUpTo: number;
}

/** The delivery ids an outbox `confirmed` event confirms, in either of its forms. */
export function confirmedIdsOf(event: Extract<OutboxEvent, { type: 'confirmed' }>): readonly number[] {
  return 'deliveryIds' in event ? event.deliveryIds : [event.deliveryId];
}
