/**
 * `steadfast/amqp`: the RabbitMQ bridge. Outbound, `amqpTransport` carries deliveries of an
 * AtLeastOnceDeliveryActor to exchanges or queues; inbound, `amqpConsumer` hands messages to a handler,
 * acks after the effect is persisted and replies the confirmation. Both recover from broker restarts
 * by themselves, alone or sharing one `amqpConnection`.
 */
export { amqpConnection, AmqpConnectionManager, ManagedChannel } from './connection-manager.js';
export type { AmqpConnectionOptions, ChannelSpec, ConnectionState } from './connection-manager.js';
export { amqpTransport, AmqpTransport, defaultManifest } from './transport.js';
export type { AmqpTransportOptions, ManifestFunction } from './transport.js';
export type { ExchangeCheck } from './exchange-checks.js';
export { amqpConsumer, AmqpConsumer } from './consumer.js';
export { inboundTraceOf } from './inbound.js';
export type { ConsumerStats } from './consumer.js';
export type { AmqpConsumerOptions } from './consumer-options.js';
export { amqpEntityConsumer, AmqpEntityConsumer } from './entity-consumer.js';
export type { AmqpEntityConsumerOptions } from './entity-consumer.js';
export { amqpEntities, AmqpEntities, HEADER_ENTITY } from './amqp-entities.js';
export type { AmqpEntitiesStats } from './amqp-entities.js';
export type { AmqpEntitiesOptions } from './entities-options.js';
export type { OwnershipState } from './partition-ownership.js';
export { partitionOf } from './entity-partitions.js';
export { EntityRouter, EntityEnvelope } from './entity-router.js';
export type { EntityFactory, EntityRouterOptions } from './entity-router.js';
export { InboundDelivery, DeliveryApplied } from './inbound-delivery.js';
export { DeduplicatingEntity, GetEntityState, DELIVERY_APPLIED_EVENT } from './deduplicating-entity.js';
export type { DeduplicatingEntityOptions, DeduplicatingEntitySnapshot, DeliveryAppliedEvent } from './deduplicating-entity.js';
export type { InboundMessage, SteadfastInboundMessage, ForeignInboundMessage, DeadLetterReason } from './inbound.js';
export { exchangeDestination, queueDestination, resolveDestination } from './destination.js';
export type { AmqpDestination, AmqpExchangeDestination, AmqpQueueDestination, ConfirmMode } from './destination.js';
export type { Topology, ExchangeSpec, QueueSpec, BindingSpec, AmqpArguments } from './topology.js';
export type { ReconnectOptions } from './options.js';
export {
  AmqpUnavailableError,
  AmqpClosedError,
  AmqpConnectError,
  AmqpPublishTimeoutError,
  AmqpNackError,
  AmqpUnroutableError,
  AmqpChannelClosedError,
  AmqpUnknownExchangeError,
  UnexpectedEntityReplyError,
  NotASteadfastDeliveryError,
  AmqpPartitionCountError,
  LeasesUnsupportedError,
} from './errors.js';
export {
  HEADER_SENDER,
  HEADER_DELIVERY_ID,
  HEADER_ATTEMPT,
  HEADER_DEAD_LETTER_REASON,
  HEADER_DEAD_LETTER_ERROR,
  HEADER_DEAD_LETTER_QUEUE,
  HEADER_REDELIVERIES,
  HEADER_REPLY_BATCHES,
  CONFIRMATION_MANIFEST,
  CONFIRMATIONS_MANIFEST,
  messageIdOf,
} from './wire.js';
