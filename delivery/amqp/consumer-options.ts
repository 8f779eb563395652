/**
 * Options of `amqpConsumer`, validated once when the consumer is created.
 */
import type { Logger } from 'pino';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { AmqpConnectionManager } from './connection-manager.js';
import type { InboundMessage } from './inbound.js';
import {
  oneOf,
  optionalBoolean,
  optionalFunction,
  optionalInteger,
  optionalLogger,
  optionalString,
  requireObject,
  requireString,
  resolveReconnect,
  type ReconnectOptions,
  type ResolvedReconnect,
} from './options.js';

export interface AmqpConsumerOptions {
  /** Either a URL (the consumer owns its connection) or a shared connection manager. */
  readonly url?: string;
  readonly connection?: AmqpConnectionManager;
  readonly queue: string;
  /**
   * Applies the message's effect and persists it; the message is acked once this resolves. Must be
   * idempotent per (senderId, deliveryId): a message can arrive more than once (sender redelivery,
   * broker redelivery after a crash), always with the same messageId.
   */
  readonly handler: (message: InboundMessage) => Promise<void>;
  /** Unacked messages the broker may push at once; bounds handler concurrency too. Default 32. */
  readonly prefetch?: number;
  /** Messages with the same key are handled one at a time, in order. Default: the senderId (foreign messages: the messageId). */
  readonly entityKey?: (message: InboundMessage) => string;
  /** Park messages without messageId, x-steadfast-sender and x-steadfast-delivery-id. Default true. */
  readonly requireSteadfastHeaders?: boolean;
  /** When given, messages whose `type` is not listed are parked as 'unknown-manifest'. */
  readonly manifests?: readonly string[];
  /** Handler attempts per delivery before the message is parked. Default 5. */
  readonly maxAttempts?: number;
  /** Deliveries without an outcome (process crashes) before the message is parked as poison. Default 5. */
  readonly maxDeliveries?: number;
  /** Backoff between handler attempts. Default 100 ms doubling up to 10 s. */
  readonly retryDelay?: ReconnectOptions;
  /** Default `${queue}.dead-letter`. */
  readonly deadLetterQueue?: string;
  /** Declare the queue and the dead-letter queue (durable). Default true. */
  readonly declare?: boolean;
  /** Type of the declared queue. Quorum queues count deliveries themselves. Default 'classic'. */
  readonly queueType?: 'classic' | 'quorum';
  /** Confirm timeout for dead-letter and re-count publishes. Default 5000. */
  readonly publishTimeoutMs?: number;
  /** How long close() waits for running handlers. Default 30 000. */
  readonly closeTimeoutMs?: number;
  /** How long start() waits for the broker before it resolves anyway (consuming starts when it is back). Default 10 000. */
  readonly startTimeoutMs?: number;
  readonly logger?: Logger;
  readonly reconnect?: ReconnectOptions;
}

export interface ResolvedConsumerOptions {
  readonly url: string | undefined;
  readonly connection: AmqpConnectionManager | undefined;
  readonly queue: string;
  readonly handler: (message: InboundMessage) => Promise<void>;
  readonly prefetch: number;
  readonly entityKey: (message: InboundMessage) => string;
  readonly requireSteadfastHeaders: boolean;
  readonly manifests: ReadonlySet<string> | undefined;
  readonly maxAttempts: number;
  readonly maxDeliveries: number;
  readonly retryDelay: ResolvedReconnect;
  readonly deadLetterQueue: string;
  readonly declare: boolean;
  readonly queueType: 'classic' | 'quorum';
  readonly publishTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly logger: Logger | undefined;
  readonly reconnect: ResolvedReconnect;
}

export function defaultEntityKey(message: InboundMessage): string {
  return message.kind === 'steadfast' ? message.senderId : (message.messageId ?? '');
}

export function resolveConsumerOptions(options: AmqpConsumerOptions): ResolvedConsumerOptions {
  const raw = requireObject(options, 'amqpConsumer options');
  if ((raw.url === undefined) === (raw.connection === undefined)) {
    throw new InvalidOptionError('amqpConsumer needs exactly one of options.url and options.connection');
  }
  if (raw.connection !== undefined && !(raw.connection instanceof AmqpConnectionManager)) {
    throw new InvalidOptionError('options.connection must be an AmqpConnectionManager (from amqpConnection())');
  }
  const queue = requireString(raw.queue, 'options.queue');
  const handler = optionalFunction<(message: InboundMessage) => Promise<void>>(raw.handler, 'options.handler');
  if (!handler) throw new InvalidOptionError('options.handler is required');
  let manifests: ReadonlySet<string> | undefined;
  if (raw.manifests !== undefined) {
    if (!Array.isArray(raw.manifests) || raw.manifests.some((m) => typeof m !== 'string')) {
      throw new InvalidOptionError('options.manifests must be an array of strings');
    }
    manifests = new Set(raw.manifests as string[]);
  }
  const deadLetterQueue = optionalString(raw.deadLetterQueue, 'options.deadLetterQueue', `${queue}.dead-letter`);
  if (deadLetterQueue === queue) throw new InvalidOptionError('options.deadLetterQueue must differ from options.queue');
  return {
    url: raw.url === undefined ? undefined : requireString(raw.url, 'options.url'),
    connection: raw.connection as AmqpConnectionManager | undefined,
    queue,
    handler,
    prefetch: optionalInteger(raw.prefetch, 'options.prefetch', 32, { min: 1, max: 65_535 }),
    entityKey: optionalFunction<(message: InboundMessage) => string>(raw.entityKey, 'options.entityKey') ?? defaultEntityKey,
    requireSteadfastHeaders: optionalBoolean(raw.requireSteadfastHeaders, 'options.requireSteadfastHeaders', true),
    manifests,
    maxAttempts: optionalInteger(raw.maxAttempts, 'options.maxAttempts', 5, { min: 1 }),
    maxDeliveries: optionalInteger(raw.maxDeliveries, 'options.maxDeliveries', 5, { min: 1 }),
    retryDelay: resolveReconnect(raw.retryDelay, 'options.retryDelay'),
    deadLetterQueue,
    declare: optionalBoolean(raw.declare, 'options.declare', true),
    queueType: oneOf(raw.queueType, 'options.queueType', ['classic', 'quorum'] as const, 'classic'),
    publishTimeoutMs: optionalInteger(raw.publishTimeoutMs, 'options.publishTimeoutMs', 5000, { min: 1 }),
    closeTimeoutMs: optionalInteger(raw.closeTimeoutMs, 'options.closeTimeoutMs', 30_000, { min: 0 }),
    startTimeoutMs: optionalInteger(raw.startTimeoutMs, 'options.startTimeoutMs', 10_000, { min: 0 }),
    logger: optionalLogger(raw.logger, 'options.logger'),
    reconnect: resolveReconnect(raw.reconnect, 'options.reconnect'),
  };
}
