import type { JsonValue } from './transport.js';
import type { PlainDestination } from './destination.js';
import type { TraceCarrier } from './tracing/trace-context.js';

/**
 * What the durable outbox sends to actor destinations. A receiver applies `payload` once per
 * (senderId, deliveryId) and replies `new DeliveryConfirmed(deliveryId)` to the sender.
 */
export class DeliveryEnvelope<Payload = unknown> {
  constructor(
    readonly senderId: string,
    readonly deliveryId: number,
    readonly payload: Payload,
  ) {}
}

/**
 * A destination confirmed a delivery: a receiver's reply, or a transport's report (a consumer's
 * reply over RabbitMQ, a broker confirm, a 2xx answer). An AtLeastOnceDeliveryActor receives it in
 * `onCommand`, persists the confirmation, and calls `confirmDelivery(deliveryId)` in the handler.
 */
export class DeliveryConfirmed {
  constructor(
    readonly deliveryId: number,
    /** persistenceId of the sender the confirmation is for (set by transports). */
    readonly senderId?: string,
  ) {}
}

export interface UnconfirmedDelivery {
  readonly deliveryId: number;
  readonly destination: PlainDestination;
  readonly message: unknown;
  /** Sends so far (1 after the first send). */
  readonly attempt: number;
}

/** Deliveries that reached `warnAfterNumberOfUnconfirmedAttempts` sends without a confirmation. */
export class UnconfirmedWarning {
  constructor(readonly unconfirmedDeliveries: readonly UnconfirmedDelivery[]) {}
}

/**
 * Opt-in (`deadLetterAfterAttempts`): these deliveries were sent that many times without a
 * confirmation and are no longer redelivered by this incarnation. The actor must persist that it
 * gives them up and call `confirmDelivery` for each in the handler; until then (e.g. after a crash)
 * they are still unconfirmed, so nothing is ever dropped silently.
 */
export class DeliveryAttemptsExhausted {
  constructor(readonly deliveries: readonly (UnconfirmedDelivery & { readonly lastError?: string })[]) {}
}

/** Plain-data state of an AtLeastOnceDeliveryActor, for its snapshots (Akka's AtLeastOnceDeliverySnapshot). */
export interface AtLeastOnceDeliverySnapshot {
  readonly currentDeliveryId: number;
  readonly unconfirmedDeliveries: readonly {
    readonly deliveryId: number;
    readonly destination: PlainDestination;
    readonly message: JsonValue;
    /** The wire sender id the delivery was keyed with (absent in snapshots from before sender identities). */
    readonly senderId?: string;
    /** For a delivery not keyed yet: the sequence number of the event that made it. */
    readonly createdAtSequenceNr?: number;
    /** Sends so far (absent in snapshots from before 0.2.0, and for deliveries not sent yet). */
    readonly attempt?: number;
    /** The delivery's trace (W3C headers), when it has one; absent in snapshots from before tracing. */
    readonly trace?: TraceCarrier;
  }[];
}

/**
 * What an AtLeastOnceDeliveryActor's `onCommand` may receive besides its commands and the persistence
 * replies: confirmations reported by transports (and by destinations that reply DeliveryConfirmed),
 * and the actor's own notices. Refs to the actor do not accept them (they are not commands others
 * send); declare the ones the actor handles in its `onCommand` parameter.
 */
export type DeliveryNotice = DeliveryConfirmed | UnconfirmedWarning | DeliveryAttemptsExhausted;
