/**
 * `amqpConsumer`: the inbound side of the RabbitMQ bridge.
 *
 * A message is acked only after the handler resolved (the handler persists the effect), then the
 * confirmation reply goes to `replyTo`. Handlers run concurrently across entities and strictly in order
 * within one (`entityKey`). A failing handler is retried in process with exponential backoff while the
 * message stays unacked (so order within the entity holds and nothing spins), then parked in the
 * dead-letter queue with the last error. Malformed input is parked at once. A message whose deliveries
 * keep ending without an outcome (it crashes the process) is recognised by a durable delivery count and
 * parked as poison.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { AmqpConnectionManager, delay, type ManagedChannel } from './connection-manager.js';
import { publishDeadLetter, republishOptions } from './dead-letter.js';
import { EntityLanes } from './entity-lanes.js';
import { AmqpClosedError, describe } from './errors.js';
import { consumeAttributes, deliveryCountOf, inboundTraceOf, parseInbound, type DeadLetterReason, type InboundMessage, type ParseRules } from './inbound.js';
import { deliveryTracing } from '../tracing/delivery-tracing.js';
import { resolveConsumerOptions, type AmqpConsumerOptions, type ResolvedConsumerOptions } from './consumer-options.js';
import { ConfirmPublisher } from './publisher.js';
import { declareQueue } from './topology.js';
import { ChannelAcks } from './channel-acks.js';
import { ConfirmationReplies } from './confirmation-replies.js';
import { HEADER_REDELIVERIES, HEADER_REPLY_BATCHES } from './wire.js';

export interface ConsumerStats {
  /** Handler resolved and the message was acked. */
  readonly handled: number;
  /** Handler attempts that failed (each retried or, the last one, parked). */
  readonly failedAttempts: number;
  readonly deadLettered: number;
  /** Redelivered messages re-published with a higher durable delivery count (classic queues). */
  readonly recounted: number;
}

type Outcome = 'acked' | 'parked' | 'abandoned';

export class AmqpConsumer {
  private readonly options: ResolvedConsumerOptions;
  private readonly rules: ParseRules;
  private manager: AmqpConnectionManager | undefined;
  private consumeChannel: ManagedChannel<Channel> | undefined;
  private publisher: ConfirmPublisher | undefined;
  private readonly replies = new ConfirmationReplies(() => this.publisher);
  private readonly channelAcks = new WeakMap<Channel, ChannelAcks>();
  private readonly lanes = new EntityLanes();
  private readonly stopping = new AbortController();
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();
  private consumerTag: string | undefined;
  private logger: Logger;
  private counters = { handled: 0, failedAttempts: 0, deadLettered: 0, recounted: 0 };
  private phase: 'new' | 'running' | 'closing' | 'closed' = 'new';

  constructor(options: AmqpConsumerOptions) {
    this.options = resolveConsumerOptions(options);
    this.rules = { requireSteadfastHeaders: this.options.requireSteadfastHeaders, manifests: this.options.manifests };
    this.logger = (this.options.logger ?? pino({ name: 'steadfast.amqp' })).child({ consumer: this.options.queue });
  }

  get stats(): ConsumerStats {
    return { ...this.counters };
  }

  get queue(): string {
    return this.options.queue;
  }

  get deadLetterQueue(): string {
    return this.options.deadLetterQueue;
  }

  /** Messages taken from the broker whose outcome is not settled yet. */
  get messagesInFlight(): number {
    return this.inFlight;
  }

  /** Connects (or joins the shared connection), declares the queues and starts consuming. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new InvalidOptionError(`amqpConsumer can be started once (it is ${this.phase})`);
    this.phase = 'running';
    const o = this.options;
    const manager = o.connection ?? new AmqpConnectionManager({ url: o.url!, connectionName: `${o.queue} consumer`, logger: this.logger, reconnect: o.reconnect });
    this.manager = manager;
    this.publisher = new ConfirmPublisher(manager, { name: `dead-letter ${o.queue}`, maxInFlight: o.prefetch * 2, publishTimeoutMs: o.publishTimeoutMs });
    this.consumeChannel = manager.createChannel({
      name: `consume ${o.queue}`,
      setup: async (channel) => {
        // Declared with the channel, so a queue deleted under the consumer comes back when it re-subscribes.
        if (o.declare) {
          await declareQueue(channel, { name: o.queue, durable: true, type: o.queueType });
          await declareQueue(channel, { name: o.deadLetterQueue, durable: true, type: 'classic' });
        }
        await channel.prefetch(o.prefetch);
        this.channelAcks.set(channel, new ChannelAcks(channel));
        const reply = await channel.consume(o.queue, (raw) => this.onDelivery(channel, raw), { noAck: false });
        this.consumerTag = reply.consumerTag;
      },
    });
    if (!o.connection) void manager.start().catch(() => {});
    try {
      await Promise.all([this.consumeChannel.whenOpen(o.startTimeoutMs), this.publisher.managed.whenOpen(o.startTimeoutMs)]);
    } catch (error) {
      if (error instanceof AmqpClosedError) throw error;
      this.logger.warn({ err: describe(error) }, 'RabbitMQ not reachable at start; consuming begins once it is');
    }
  }

  /**
   * Stops consuming, waits for handlers in flight (up to closeTimeoutMs), then closes the channels (and
   * the connection when this consumer owns it). Messages not yet handled stay unacked and are redelivered.
   */
  async close(): Promise<void> {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    this.phase = 'closing';
    this.stopping.abort();
    const channel = this.consumeChannel?.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => {});
    await this.whenIdle(this.options.closeTimeoutMs);
    this.replies.flush(); // published before the channels close, so the broker still takes them
    await this.consumeChannel?.close();
    await this.publisher?.close();
    if (!this.options.connection) await this.manager?.close();
    this.phase = 'closed';
  }

  private whenIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.logger.warn({ inFlight: this.inFlight }, 'handlers still running at close timeout; their messages will be redelivered');
        done();
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  private onDelivery(channel: Channel, raw: ConsumeMessage | null): void {
    if (raw === null) {
      // basic.cancel: the queue was deleted (or failed over). Closing the channel makes the manager
      // re-open it after a backoff; its setup re-declares the queue and consumes again.
      if (this.phase === 'running') {
        this.logger.warn('consumer cancelled by the broker (queue deleted?); re-subscribing');
        channel.close().catch(() => {});
      }
      return;
    }
    this.channelAcks.get(channel)?.delivered(raw);
    this.inFlight++;
    this.process(channel, raw).then(this.processed, this.processingFailed);
  }

  // Bound once: they run for every message.
  private readonly processed = (): void => {
    this.inFlight--;
    if (this.inFlight === 0) for (const wake of [...this.idleWaiters]) wake();
  };

  private readonly processingFailed = (error: unknown): void => {
    this.logger.error({ err: describe(error) }, 'unexpected error while processing a message; it stays unacked');
    this.processed();
  };

  private async process(channel: Channel, raw: ConsumeMessage): Promise<Outcome> {
    const o = this.options;
    const { count, durable } = deliveryCountOf(raw);
    if (count > o.maxDeliveries) {
      return this.park(channel, raw, 'poison', `delivered ${count} times without an outcome (the consumer crashed or lost its connection each time)`);
    }
    if (raw.fields.redelivered && !durable) {
      if (count + 1 > o.maxDeliveries) {
        return this.park(channel, raw, 'poison', `delivered ${count + 1} times without an outcome (the consumer crashed or lost its connection each time)`);
      }
      return this.recount(channel, raw, count);
    }
    const parsed = parseInbound(raw, this.rules, count);
    if (parsed.kind === 'malformed') return this.park(channel, raw, parsed.reason, parsed.detail);
    const message = parsed.message;
    let key: string;
    try {
      key = o.entityKey(message);
    } catch (error) {
      return this.park(channel, raw, 'handler-failed', `entityKey threw: ${describe(error)}`);
    }
    let outcome: Outcome = 'abandoned';
    await this.lanes.run(key, async () => {
      outcome = await this.handleWithRetries(channel, raw, message);
    });
    return outcome;
  }

  private async handleWithRetries(channel: Channel, raw: ConsumeMessage, message: InboundMessage): Promise<Outcome> {
    const o = this.options;
    let lastError: unknown;
    for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
      // Leaving the message unacked is always safe: the broker redelivers it once the channel is gone.
      if (this.phase !== 'running' || !this.isCurrent(channel)) return 'abandoned';
      try {
        const handed = attempt === 1 ? message : { ...message, attempt };
        const trace = inboundTraceOf(message);
        if (trace === undefined) await o.handler(handed);
        else await this.handleTraced(trace, handed);
      } catch (error) {
        lastError = error;
        this.counters.failedAttempts++;
        if (attempt < o.maxAttempts) {
          const wait = Math.min(o.retryDelay.maxDelayMs, o.retryDelay.minDelayMs * o.retryDelay.factor ** (attempt - 1));
          await delay(wait * (0.5 + Math.random() / 2), this.stopping.signal);
        }
        continue;
      }
      this.counters.handled++;
      this.ack(channel, raw);
      this.reply(raw, message);
      return 'acked';
    }
    return this.park(channel, raw, 'handler-failed', `handler failed ${o.maxAttempts} times; last error: ${describe(lastError)}`);
  }

  /**
   * The handler under the sender's attempt span: its own spans join the delivery's trace. A method of
   * its own, so that the closures it needs are not made (with a context) for every untraced message.
   */
  private async handleTraced(trace: NonNullable<ReturnType<typeof inboundTraceOf>>, handed: InboundMessage): Promise<void> {
    const o = this.options;
    await deliveryTracing.consume(
      trace,
      () => consumeAttributes(handed, o.queue),
      async () => o.handler(handed),
    );
  }

  private isCurrent(channel: Channel): boolean {
    return this.consumeChannel?.isLive(channel) ?? false;
  }

  private ack(channel: Channel, raw: ConsumeMessage): void {
    // An ack on another channel than the delivering one is a protocol error; after a reconnect the
    // message has been redelivered anyway.
    if (!this.isCurrent(channel)) return;
    this.channelAcks.get(channel)?.settle(raw);
  }

  private reply(raw: ConsumeMessage, message: InboundMessage): void {
    const replyTo = raw.properties.replyTo as unknown;
    if (message.kind !== 'steadfast' || typeof replyTo !== 'string' || replyTo.length === 0) return;
    if (message.headers[HEADER_REPLY_BATCHES] !== undefined) this.replies.add(replyTo, message);
    else this.replies.sendOne(replyTo, message);
  }

  /** Classic queues keep no delivery count: re-publish the redelivered message with ours, then ack it. */
  private async recount(channel: Channel, raw: ConsumeMessage, count: number): Promise<Outcome> {
    const headers = { ...((raw.properties.headers ?? {}) as Record<string, unknown>), [HEADER_REDELIVERIES]: count };
    const done = await this.untilPublished(channel, () =>
      this.publisher!.publish({
        exchange: '',
        routingKey: this.options.queue,
        content: raw.content,
        options: republishOptions(raw, headers),
      }),
    );
    if (!done) return 'abandoned';
    this.counters.recounted++;
    this.ack(channel, raw);
    return 'acked';
  }

  private async park(channel: Channel, raw: ConsumeMessage, reason: DeadLetterReason, detail: string): Promise<Outcome> {
    const o = this.options;
    const done = await this.untilPublished(channel, () => publishDeadLetter(this.publisher!, o.deadLetterQueue, o.queue, raw, reason, detail));
    if (!done) return 'abandoned';
    this.counters.deadLettered++;
    this.ack(channel, raw);
    // Parking is rare and needs a human: one line per parked message is the point, not noise.
    this.logger.warn({ messageId: raw.properties.messageId as unknown, reason, detail }, 'message parked in the dead-letter queue');
    return 'parked';
  }

  /** Retries a confirmed publish with backoff while the delivering channel lives; false when it died or we stop. */
  private async untilPublished(channel: Channel, publish: () => Promise<void>): Promise<boolean> {
    const r = this.options.retryDelay;
    try {
      await pRetry(
        async () => {
          if (!this.isCurrent(channel)) throw new AbortError('delivering channel closed');
          await publish();
        },
        { retries: Number.POSITIVE_INFINITY, minTimeout: r.minDelayMs, maxTimeout: r.maxDelayMs, factor: r.factor, randomize: true, signal: this.stopping.signal },
      );
      return true;
    } catch {
      return false;
    }
  }
}

/** Creates a consumer for one queue; call `start()`. */
export function amqpConsumer(options: AmqpConsumerOptions): AmqpConsumer {
  return new AmqpConsumer(options);
}
