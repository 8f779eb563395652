/**
 * At-least-once delivery: the AtLeastOnceDeliveryActor, the ready-made durable outbox, the receiving
 * side's deduplication, and the transport SPI (RabbitMQ lives in ./amqp, its own entry point).
 */
export { AtLeastOnceDeliveryActor, type AtLeastOnceDeliveryOptions, type DeliverOptions, type DeliveryInfo } from './at-least-once-delivery-actor.js';
export { AtLeastOnceDeliveryReceiveActor } from './at-least-once-delivery-receive-actor.js';
export type { AtLeastOnceDeliverySettings } from './delivery-settings.js';
export { describeDestination, toPlainDestination, type Destination, type PlainDestination } from './destination.js';
export {
  DeliveryIdsExhaustedError,
  DeliveryNotDeadLetteredError,
  DeliveryStateDeletionError,
  IdempotencyKeyReusedError,
  MaxUnconfirmedBytesExceededError,
  MaxUnconfirmedMessagesExceededError,
  SnapshotPayloadMissingError,
  UnknownTransportError,
} from './errors.js';
export {
  DeliveryAttemptsExhausted,
  DeliveryConfirmed,
  DeliveryEnvelope,
  UnconfirmedWarning,
  type AtLeastOnceDeliverySnapshot,
  type DeliveryNotice,
  type UnconfirmedDelivery,
} from './messages.js';
export { Outbox, type InFlightDelivery, type ListOptions, type OutboxOptions, type SendOptions } from './outbox/outbox.js';
export { OutboxActor, type OutboxActorOptions } from './outbox/outbox-actor.js';
export {
  confirmedIdsOf,
  type CancelledDelivery,
  type DeadLetteredDelivery,
  type DeliveryStatus,
  type FormerDeadLetter,
  type OutboxEvent,
  type OutboxPage,
  type OutboxSnapshot,
  type OutboxSnapshotDelivery,
  type OutboxStats,
  type SendAccepted,
} from './outbox/outbox-protocol.js';
export { ReceivedDeliveries, type ReceivedDeliveriesSnapshot } from './received-deliveries.js';
export type { DeliveryTransport, JsonValue, OutboundDelivery, RegisteredDestination, TransportContext, TransportDestination, TransportName, TransportNames } from './transport.js';
export { DeliveryTransports } from './transports.js';
export { currentTraceCarrier, TRACER_NAME, traceContextOf } from './tracing/delivery-tracing.js';
export type { OtelContext } from './tracing/open-telemetry.js';
export { parseTraceparent, traceCarrierOf, traceCarrierOfHeaders, type TraceCarrier, type TraceparentFields } from './tracing/trace-context.js';
