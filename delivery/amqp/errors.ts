/**
 * Errors of the RabbitMQ bridge. Each has a stable `code`: the delivery machinery treats every rejected
 * send the same way (the delivery stays unconfirmed and is redelivered), but operators and tests branch
 * on the code to tell "broker away" from "misrouted" from "too slow".
 */
import { SteadfastError } from '../../src/actor/errors.js';

/** No open connection/channel right now; the manager is reconnecting in the background. */
export class AmqpUnavailableError extends SteadfastError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('ERR_AMQP_UNAVAILABLE', `RabbitMQ is not reachable right now (${what}); reconnecting in the background`, options);
  }
}

/** The manager (or the transport/consumer owning it) has been closed. */
export class AmqpClosedError extends SteadfastError {
  constructor(what: string) {
    super('ERR_AMQP_CLOSED', `${what} has been closed`);
  }
}

/** A single connection attempt failed; p-retry retries these. */
export class AmqpConnectError extends SteadfastError {
  constructor(url: string, cause: unknown) {
    super('ERR_AMQP_CONNECT', `cannot connect to ${redactUrl(url)}: ${describe(cause)}`, { cause });
  }
}

/** The broker did not confirm a publish within `publishTimeoutMs` (slow, blocked or half-dead broker). */
export class AmqpPublishTimeoutError extends SteadfastError {
  constructor(
    readonly messageId: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_AMQP_PUBLISH_TIMEOUT', `no publisher confirm for ${messageId} within ${timeoutMs} ms`);
  }
}

/** The broker refused a publish (basic.nack): e.g. a queue overflow with reject-publish. */
export class AmqpNackError extends SteadfastError {
  constructor(readonly messageId: string) {
    super('ERR_AMQP_NACK', `the broker nacked ${messageId}`);
  }
}

/** A mandatory publish matched no queue and came back (basic.return). */
export class AmqpUnroutableError extends SteadfastError {
  constructor(
    readonly messageId: string,
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super('ERR_AMQP_UNROUTABLE', `${messageId} to exchange "${exchange}" with routing key "${routingKey}" was returned: ${replyText}`);
  }
}

/**
 * The channel closed (channel error or lost connection) before the publish was confirmed. `reason` is
 * the broker's reply when it closed the channel itself (e.g. `NOT_FOUND - no exchange 'x' in vhost '/'`).
 */
export class AmqpChannelClosedError extends SteadfastError {
  constructor(what: string, options?: { cause?: unknown; reason?: string }) {
    super('ERR_AMQP_CHANNEL_CLOSED', `channel closed before ${what} was confirmed${options?.reason === undefined ? '' : `: the broker said ${options.reason}`}`, options);
  }
}

/** The destination's exchange does not exist on the broker; nothing was published (the shared channel stays open). */
export class AmqpUnknownExchangeError extends SteadfastError {
  constructor(
    readonly exchange: string,
    /** The broker's reply, e.g. `NOT_FOUND - no exchange 'orders' in vhost '/'`. */
    readonly replyText: string,
  ) {
    super('ERR_AMQP_UNKNOWN_EXCHANGE', `exchange ${JSON.stringify(exchange)} does not exist: the broker said ${replyText}`);
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Credentials never reach a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** A persistent entity answered an InboundDelivery with something other than DeliveryApplied. */
export class UnexpectedEntityReplyError extends SteadfastError {
  constructor(
    readonly entityId: string,
    readonly reply: string,
  ) {
    super('ERR_AMQP_ENTITY_REPLY', `entity "${entityId}" replied ${reply} to an InboundDelivery; it must reply DeliveryApplied once the effect is persisted (or StatusFailure)`);
  }
}

/** The entity consumer received a message without steadfast headers (it cannot deduplicate those). */
export class NotASteadfastDeliveryError extends SteadfastError {
  constructor(readonly messageId: string | undefined) {
    super('ERR_AMQP_NOT_STEADFAST', `message ${messageId ?? '(no messageId)'} has no sender/delivery id; an entity consumer only accepts steadfast deliveries`);
  }
}

/**
 * `amqpEntities` was started with another partition count than the one its type already has in the
 * broker. Entity ids are hashed onto partitions, so two counts would send one id to two queues.
 */
export class AmqpPartitionCountError extends SteadfastError {
  constructor(
    readonly typeName: string,
    readonly partitions: number,
    readonly recorded: number | undefined,
  ) {
    super(
      'ERR_AMQP_PARTITION_COUNT',
      `amqpEntities "${typeName}" was started with partitions: ${partitions}, but the broker records ${recorded ?? 'another count'} for it ` +
        `(queue ${typeName}.entities.partitions): every process of one type must use the same count; changing it needs the queues drained and deleted`,
    );
  }
}

/** A serving `amqpEntities` (one with `entity`) needs leases from the system's journal to own partitions. */
export class LeasesUnsupportedError extends SteadfastError {
  constructor(readonly typeName: string) {
    super(
      'ERR_LEASES_UNSUPPORTED',
      `amqpEntities "${typeName}" serves entities, which needs a journal that offers leases (acquireLease), such as postgresJournal; ` +
        'this system\'s journal has none. Use a shared PostgreSQL journal, or start it without "entity" to only send',
    );
  }
}
