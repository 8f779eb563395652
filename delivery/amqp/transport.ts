/**
 * `amqpTransport`: the outbound side of the RabbitMQ bridge, a DeliveryTransport named 'amqp'.
 *
 * Each send is one persistent, mandatory publish on a confirm channel. send() resolves once the broker
 * has the message (publisher confirm) and rejects on anything else (nack, return, closed channel,
 * timeout, broker away), so the delivery simply stays unconfirmed and the actor's redelivery tick tries
 * again: the journal is the buffer, nothing is queued in memory here.
 */
import type { Logger } from 'pino';
import { InvalidOptionError, asError } from '../../src/actor/errors.js';
import type { DeliveryTransport, JsonValue, OutboundDelivery, TransportContext, TransportDestination } from '../transport.js';
import { AmqpConnectionManager, type AmqpConnectionOptions } from './connection-manager.js';
import { resolveDestination, type AmqpDestination, type ResolvedDestination } from './destination.js';
import { AmqpClosedError, AmqpUnavailableError, AmqpUnknownExchangeError } from './errors.js';
import { ExchangeChecks, type ExchangeCheck } from './exchange-checks.js';
import { optionalFunction, optionalInteger, optionalLogger, optionalString, requireObject, requireString, resolveReconnect, type ReconnectOptions } from './options.js';
import { ConfirmPublisher } from './publisher.js';
import { ReplyListener } from './reply-listener.js';
import { validateTopology, type Topology } from './topology.js';
import { CONTENT_TYPE_JSON, DEFAULT_MANIFEST, deliveryHeaders, messageIdOf } from './wire.js';

export type ManifestFunction = (message: JsonValue, destination: AmqpDestination) => string;

export interface AmqpTransportOptions {
  /** Either a URL (the transport owns its connection) or a shared connection manager (the caller closes it). */
  readonly url?: string;
  readonly connection?: AmqpConnectionManager;
  /** Names this service: the reply queue defaults to `${serviceName}.replies`, and appId carries it. */
  readonly serviceName: string;
  readonly replyQueue?: string;
  /** A send rejects when the broker has not confirmed it within this time. Default 5000. */
  readonly publishTimeoutMs?: number;
  /** Publishes awaiting a broker confirm, at most; further sends wait for a slot (within publishTimeoutMs). Default 1000. */
  readonly maxInFlight?: number;
  /** How long start() waits for the first connection before it resolves anyway (sends fail fast until connected). Default 10 000. */
  readonly startTimeoutMs?: number;
  /** The AMQP `type` property. Default: the message's string `type` field, else 'steadfast.json'. */
  readonly manifest?: ManifestFunction;
  /** Extra exchanges/queues/bindings to declare on every connect (e.g. the destination exchanges). */
  readonly topology?: Topology;
  readonly replyPrefetch?: number;
  /** Default: the logger of the TransportContext. */
  readonly logger?: Logger;
  readonly reconnect?: ReconnectOptions;
}

interface ResolvedOptions {
  readonly url: string | undefined;
  readonly connection: AmqpConnectionManager | undefined;
  readonly serviceName: string;
  readonly replyQueue: string;
  readonly publishTimeoutMs: number;
  readonly maxInFlight: number;
  readonly startTimeoutMs: number;
  readonly manifest: ManifestFunction;
  readonly topology: Topology;
  readonly replyPrefetch: number;
  readonly logger: Logger | undefined;
  readonly reconnect: ReconnectOptions | undefined;
}

type TransportState =
  | { readonly kind: 'new' }
  | {
      readonly kind: 'running';
      readonly manager: AmqpConnectionManager;
      readonly publisher: ConfirmPublisher;
      readonly exchanges: ExchangeChecks;
      readonly replies: ReplyListener;
      readonly context: TransportContext;
      readonly logger: Logger;
    }
  | { readonly kind: 'closed' };

export function defaultManifest(message: JsonValue): string {
  if (typeof message === 'object' && message !== null && !Array.isArray(message) && typeof message.type === 'string' && message.type.length > 0) {
    return message.type;
  }
  return DEFAULT_MANIFEST;
}

function resolveOptions(options: AmqpTransportOptions): ResolvedOptions {
  const raw = requireObject(options, 'amqpTransport options');
  if ((raw.url === undefined) === (raw.connection === undefined)) {
    throw new InvalidOptionError('amqpTransport needs exactly one of options.url and options.connection');
  }
  if (raw.connection !== undefined && !(raw.connection instanceof AmqpConnectionManager)) {
    throw new InvalidOptionError('options.connection must be an AmqpConnectionManager (from amqpConnection())');
  }
  const serviceName = requireString(raw.serviceName, 'options.serviceName');
  return {
    url: raw.url === undefined ? undefined : requireString(raw.url, 'options.url'),
    connection: raw.connection as AmqpConnectionManager | undefined,
    serviceName,
    replyQueue: optionalString(raw.replyQueue, 'options.replyQueue', `${serviceName}.replies`),
    publishTimeoutMs: optionalInteger(raw.publishTimeoutMs, 'options.publishTimeoutMs', 5000, { min: 1 }),
    maxInFlight: optionalInteger(raw.maxInFlight, 'options.maxInFlight', 1000, { min: 1 }),
    startTimeoutMs: optionalInteger(raw.startTimeoutMs, 'options.startTimeoutMs', 10_000, { min: 0 }),
    manifest: optionalFunction<ManifestFunction>(raw.manifest, 'options.manifest') ?? defaultManifest,
    topology: validateTopology(raw.topology, 'options.topology'),
    replyPrefetch: optionalInteger(raw.replyPrefetch, 'options.replyPrefetch', 500, { min: 1, max: 65_535 }),
    logger: optionalLogger(raw.logger, 'options.logger'),
    reconnect: raw.reconnect === undefined ? undefined : resolveReconnect(raw.reconnect, 'options.reconnect'),
  };
}

export class AmqpTransport implements DeliveryTransport {
  readonly name = 'amqp';
  private readonly options: ResolvedOptions;
  private state: TransportState = { kind: 'new' };
  private readonly unroutableLogged = new Set<string>();

  constructor(options: AmqpTransportOptions) {
    this.options = resolveOptions(options);
  }

  /** The reply queue this transport consumes and names as `replyTo`. */
  get replyQueue(): string {
    return this.options.replyQueue;
  }

  /** The connection manager (for sharing it with an amqpConsumer). Defined once started. */
  get connection(): AmqpConnectionManager | undefined {
    return this.state.kind === 'running' ? this.state.manager : undefined;
  }

  validateDestination(destination: TransportDestination<string>): void {
    resolveDestination(destination);
  }

  /**
   * Whether the broker has `exchange` (a passive declare on a channel of its own; answers are
   * remembered for a while). `unknown` when the broker cannot be asked now, e.g. it is away.
   */
  checkExchange(exchange: string): Promise<ExchangeCheck> {
    if (this.state.kind !== 'running') return Promise.resolve({ status: 'unknown', reason: `amqpTransport is ${this.state.kind === 'new' ? 'not started' : 'closed'}` });
    return this.state.exchanges.check(exchange);
  }

  async start(context: TransportContext): Promise<void> {
    if (this.state.kind !== 'new') throw new InvalidOptionError(`amqpTransport can be started once (it is ${this.state.kind})`);
    const logger = (this.options.logger ?? context.logger).child({ transport: 'amqp' });
    const manager =
      this.options.connection ??
      new AmqpConnectionManager({
        url: this.options.url!,
        connectionName: `${this.options.serviceName} transport`,
        logger,
        ...(this.options.reconnect ? { reconnect: this.options.reconnect } : {}),
      } satisfies AmqpConnectionOptions);
    const exchanges = new ExchangeChecks(manager);
    const publisher = new ConfirmPublisher(manager, {
      name: `publish ${this.options.serviceName}`,
      maxInFlight: this.options.maxInFlight,
      publishTimeoutMs: this.options.publishTimeoutMs,
      onUnroutable: (exchange, routingKey, replyText) => this.logUnroutable(logger, exchange, routingKey, replyText),
      onExchangeMissing: (exchange, replyText) => exchanges.noteMissing(exchange, replyText),
    });
    const replies = new ReplyListener(manager, {
      queue: this.options.replyQueue,
      prefetch: this.options.replyPrefetch,
      logger,
      onConfirmation: ({ senderId, deliveryId, token }) => context.confirmReceived(senderId, deliveryId, token),
    });
    this.state = { kind: 'running', manager, publisher, exchanges, replies, context, logger };
    await manager.addTopology(this.options.topology);
    const connected = this.options.connection ? manager.waitForConnection(this.options.startTimeoutMs) : raceTimeout(manager.start(), this.options.startTimeoutMs);
    try {
      await connected;
      await Promise.all([publisher.managed.whenOpen(this.options.startTimeoutMs), replies.whenReady(this.options.startTimeoutMs)]);
    } catch (error) {
      if (error instanceof AmqpClosedError) throw error;
      // Deliveries are journaled; they are sent once the broker is back. Starting the system must not hang on it.
      logger.warn({ err: (error as Error).message }, 'RabbitMQ not reachable at start; sends fail until it is');
    }
  }

  send(destination: TransportDestination<string>, delivery: OutboundDelivery): Promise<void> {
    if (this.state.kind !== 'running') {
      return Promise.reject(this.state.kind === 'closed' ? new AmqpClosedError('amqpTransport') : new AmqpUnavailableError('amqpTransport not started'));
    }
    const { exchanges } = this.state;
    // A bad destination, a message that does not serialize, a throwing manifest function: a rejected
    // send like any other failure, never a throw out of send().
    let target: ResolvedDestination;
    let content: Buffer;
    let manifest: string;
    try {
      target = resolveDestination(destination);
      content = delivery.messageJson ?? Buffer.from(JSON.stringify(delivery.message));
      manifest = this.options.manifest(delivery.message, destination as AmqpDestination);
    } catch (error) {
      return Promise.reject(error);
    }
    // An exchange is known to exist before anything is published to it (see exchange-checks.ts); the
    // default exchange ('' for queue destinations) always does.
    if (target.exchange !== '') {
      const known = exchanges.cached(target.exchange);
      if (known?.status !== 'exists') {
        const exchange = target.exchange;
        const checked = known === undefined ? exchanges.check(exchange) : Promise.resolve(known);
        return checked.then((check) => {
          if (check.status === 'missing') throw new AmqpUnknownExchangeError(exchange, check.reason);
          // 'unknown': the publish finds out (and fails as such when the broker is away).
          return this.publish(target, content, manifest, delivery);
        });
      }
    }
    return this.publish(target, content, manifest, delivery);
  }

  private publish(target: ResolvedDestination, content: Buffer, manifest: string, delivery: OutboundDelivery): Promise<void> {
    if (this.state.kind !== 'running') return Promise.reject(new AmqpClosedError('amqpTransport'));
    const { publisher, context } = this.state;
    const { senderId, deliveryId } = delivery;
    const messageId = messageIdOf(senderId, deliveryId);
    const published = publisher.publish({
      exchange: target.exchange,
      routingKey: target.routingKey,
      content,
      options: {
        messageId,
        persistent: true,
        mandatory: true,
        contentType: CONTENT_TYPE_JSON,
        type: manifest,
        appId: this.options.serviceName,
        timestamp: Math.floor(Date.now() / 1000),
        // Broker-confirmed destinations are served by consumers that do not reply; no replyTo keeps a
        // steadfast consumer from replying into a queue nobody needs. (amqplib leaves out properties
        // and headers that are undefined; a fixed shape keeps this per-message object fast.)
        replyTo: target.confirm === 'consumer' ? this.options.replyQueue : undefined,
        headers: deliveryHeaders(delivery),
      },
    });
    // Not async: one promise per send instead of three on the path every delivery takes.
    return target.confirm === 'broker' ? published.then(() => context.confirm(senderId, deliveryId)) : published;
  }

  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    if (state.kind !== 'running') return;
    await state.replies.close();
    await state.publisher.close();
    if (!this.options.connection) await state.manager.close();
  }

  private logUnroutable(logger: Logger, exchange: string, routingKey: string, replyText: string): void {
    const key = `${exchange}\u0000${routingKey}`;
    if (this.unroutableLogged.has(key)) return;
    this.unroutableLogged.add(key);
    logger.warn({ exchange, routingKey, replyText }, 'unroutable: no queue is bound for this destination; deliveries to it stay unconfirmed (logged once per destination)');
  }
}

/** Creates the RabbitMQ DeliveryTransport (name 'amqp'). */
export function amqpTransport(options: AmqpTransportOptions): AmqpTransport {
  return new AmqpTransport(options);
}

function raceTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AmqpUnavailableError(`not connected within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(asError(error));
      },
    );
  });
}
