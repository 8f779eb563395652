import type { PlainDestination } from '../destination.js';
import type { AtLeastOnceDeliverySnapshot } from '../messages.js';
import type { JsonValue } from '../transport.js';

/** Commands the outbox actor handles (its facade, `Outbox`, sends them). */
export class OutboxSend {
  constructor(
    readonly destination: PlainDestination,
    readonly payload: JsonValue,
    readonly idempotencyKey: string | undefined,
  ) {}
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
  readonly confirmed: number;
  readonly deadLettered: number;
  readonly inFlight: number;
  readonly lastSequenceNr: number;
}

export type DeliveryStatus =
  | { readonly status: 'in-flight'; readonly deliveryId: number; readonly attempts: number; readonly lastError: string | undefined; readonly destination: PlainDestination }
  | { readonly status: 'dead-lettered'; readonly deliveryId: number; readonly reason: string; readonly attempts: number; readonly destination: PlainDestination }
  | { readonly status: 'confirmed' | 'unknown'; readonly deliveryId: number };

/** Events of the outbox (plain data, stored in the journal). */
export type OutboxEvent =
  | {
      readonly type: 'accepted';
      readonly destination: PlainDestination;
      readonly payload: JsonValue;
      readonly idempotencyKey?: string;
      readonly acceptedAt: number;
    }
  | { readonly type: 'confirmed'; readonly deliveryId: number }
  | { readonly type: 'dead-lettered'; readonly deliveryId: number; readonly reason: string; readonly attempts: number; readonly at: number }
  | { readonly type: 'redriven'; readonly deliveryIds: readonly number[] };

/** The outbox's snapshot: delivery state plus what it must remember to stay idempotent. */
export interface OutboxSnapshot {
  readonly delivery: AtLeastOnceDeliverySnapshot;
  readonly idempotencyKeys: readonly (readonly [string, number])[];
  readonly deadLetters: readonly DeadLetteredDelivery[];
  readonly confirmedCount: number;
  readonly acceptedCount: number;
  readonly highestConfirmed: number;
}
