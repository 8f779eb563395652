/**
 * The protocol between the entity consumer and a persistent entity: what the entity receives for each
 * consumed message (`InboundDelivery`) and what it replies once the effect is persisted
 * (`DeliveryApplied`). The consumer acks the AMQP message only after that reply, then sends the
 * confirmation to the sender; until then the message stays unacked and comes back after a crash.
 */
import type { JsonValue } from '../transport.js';
import { inboundTraceOf, type SteadfastInboundMessage } from './inbound.js';
import { currentTraceCarrier } from '../tracing/delivery-tracing.js';
import type { TraceCarrier } from '../tracing/trace-context.js';

/** One consumed message, as a persistent entity receives it. Apply it once per (senderId, deliveryId). */
export class InboundDelivery<Body extends JsonValue = JsonValue> {
  constructor(
    /** `${senderId}:${deliveryId}`, the same on every redelivery. */
    readonly messageId: string,
    /** persistenceId of the sending AtLeastOnceDeliveryActor / Outbox. */
    readonly senderId: string,
    readonly deliveryId: number,
    /** The message as the sender delivered it (parsed JSON). */
    readonly body: Body,
    /** The AMQP `type` property (the sender's manifest). */
    readonly manifest: string,
    /** The id the consumer's `entityId` function took from the message. */
    readonly entityId: string,
    /** The sender's attempt (1 = first send). */
    readonly senderAttempt: number,
    /** Durable count of deliveries of this copy to a consumer (1 = first). */
    readonly deliveryCount: number,
    /** Every id of this sender below it is confirmed and never comes again (see OutboundDelivery). */
    readonly oldestUnconfirmedId?: number,
    /**
     * The trace the message continues (the consumer's span, or the sender's headers): an entity's own
     * spans join it through `traceContextOf(trace)`, an entity that delivers on passes it to `deliver`.
     */
    readonly trace?: TraceCarrier,
  ) {}

  static from(message: SteadfastInboundMessage, entityId: string): InboundDelivery {
    // Made inside the consumer's span: the active context is that span (or the sender's, unrecorded).
    const received = inboundTraceOf(message);
    const trace = received === undefined ? undefined : (currentTraceCarrier() ?? received);
    return new InboundDelivery(
      message.messageId,
      message.senderId,
      message.deliveryId,
      message.body,
      message.manifest,
      entityId,
      message.senderAttempt,
      message.deliveryCount,
      message.oldestUnconfirmedId,
      trace,
    );
  }
}

/**
 * The entity's reply to an InboundDelivery: its effect (and the record that it was applied) is in the
 * journal. `duplicate`: it had been applied before, nothing was applied now. Reply with a
 * StatusFailure instead when the delivery cannot be applied: the consumer retries it with backoff and
 * finally parks it in the dead-letter queue.
 */
export class DeliveryApplied {
  constructor(
    readonly messageId: string,
    readonly duplicate: boolean,
  ) {}
}
