/**
 * Publishes on a confirm channel and settles each publish by its own delivery tag.
 *
 * amqplib keeps one callback per delivery tag (`handleConfirm` indexes by `tag - lwm` and honours
 * `multiple`), so per-publish callbacks are per-tag, not FIFO; this class adds what amqplib does not:
 * a bound on publishes in flight, waiting for 'drain' when the socket buffer is full, a timeout per
 * publish, and recognising basic.return (unroutable) for a mandatory publish. A return always precedes
 * the ack of the same publish on the channel, so the ack callback knows whether it was returned.
 */
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { Fifo } from '../../src/actor/fifo.js';
import { AmqpChannelClosedError, AmqpNackError, AmqpPublishTimeoutError, AmqpUnavailableError, AmqpUnroutableError } from './errors.js';
import type { AmqpConnectionManager, ManagedChannel } from './connection-manager.js';
import { brokerReplyText, missingExchangeOf } from './exchange-checks.js';

export interface PublishRequest {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  /** `messageId` ties a basic.return to its publish; publishes without one share one (FIFO) bucket. */
  readonly options: Options.Publish;
}

export interface ConfirmPublisherOptions {
  readonly name: string;
  readonly maxInFlight: number;
  readonly publishTimeoutMs: number;
  readonly onUnroutable?: (exchange: string, routingKey: string, replyText: string) => void;
  /** The broker closed the channel because a publish named an exchange it does not have. */
  readonly onExchangeMissing?: (exchange: string, replyText: string) => void;
}

interface Returned {
  readonly exchange: string;
  readonly routingKey: string;
  readonly replyText: string;
}

interface SlotWaiter {
  readonly grant: () => void;
  readonly fail: (error: Error) => void;
}

export class ConfirmPublisher {
  readonly managed: ManagedChannel<ConfirmChannel>;
  private inFlight = 0;
  private draining = false;
  /** Thousands may wait for a slot (a burst of sends): a Fifo keeps each grant O(1). */
  private readonly waiters = new Fifo<SlotWaiter>();
  /**
   * messageId -> basic.returns not yet matched to their publish's ack, oldest first. A return precedes
   * the ack of the same publish, and both come in publish order, so the ack of a publish takes the
   * oldest return of its id, if any. Empty but for unroutable publishes: nothing is kept per publish.
   */
  private readonly returns = new Map<string, Returned[]>();
  /** Why the broker closed a channel: amqplib tells 'error' first, then fails the publishes with a bare 'channel closed'. */
  private readonly closeReasons = new WeakMap<ConfirmChannel, string>();

  constructor(
    manager: AmqpConnectionManager,
    private readonly options: ConfirmPublisherOptions,
  ) {
    this.managed = manager.createConfirmChannel({
      name: options.name,
      setup: async (channel) => {
        // A new channel: returns left from the old one belong to publishes that already failed.
        this.returns.clear();
        channel.on('error', (error: Error) => this.noteChannelError(channel, error));
        channel.on('return', (message: Message) => this.handleReturn(message));
        channel.on('drain', () => {
          this.draining = false;
          this.wake();
        });
      },
    });
    // In-flight publishes get amqplib's 'channel closed' callback; waiters for a slot are failed here
    // so that send() rejects at once instead of at its timeout.
    this.managed.onClose(() => {
      this.draining = false;
      for (const waiter of this.waiters.drain()) waiter.fail(new AmqpUnavailableError(`channel ${options.name} closed`));
    });
  }

  get publishesInFlight(): number {
    return this.inFlight;
  }

  publish(request: PublishRequest): Promise<void> {
    if (!this.managed.channel) return Promise.reject(new AmqpUnavailableError(`channel ${this.options.name}`));
    // The common case takes a free slot at once: no extra promise and no turn of the event loop.
    if (this.waiters.size === 0 && this.hasRoom()) {
      this.inFlight++;
      return this.send(request, this.options.publishTimeoutMs);
    }
    const started = Date.now();
    return this.acquireSlot(request.options.messageId ?? '', started).then(() => this.send(request, Math.max(1, this.options.publishTimeoutMs - (Date.now() - started))));
  }

  /** Publishes on a slot already taken; the returned promise settles with the broker's answer or the timeout. */
  private send(request: PublishRequest, timeoutMs: number): Promise<void> {
    const messageId = request.options.messageId ?? '';
    const channel = this.managed.channel;
    if (!channel) {
      this.release();
      return Promise.reject(new AmqpUnavailableError(`channel ${this.options.name}`));
    }
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.release();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => finish(new AmqpPublishTimeoutError(messageId, this.options.publishTimeoutMs)), timeoutMs);
      let writable: boolean;
      try {
        writable = channel.publish(request.exchange, request.routingKey, request.content, request.options, (error: unknown) => {
          // Taken even when the publish timed out already, so that a later publish of the id does not get it.
          const returned = this.returns.size === 0 ? undefined : this.takeReturn(messageId);
          if (returned) finish(new AmqpUnroutableError(messageId, returned.exchange, returned.routingKey, returned.replyText));
          else if (error === null || error === undefined) finish();
          else if (error instanceof Error && error.message === 'message nacked') finish(new AmqpNackError(messageId));
          else finish(new AmqpChannelClosedError(messageId, { cause: error, reason: this.closeReasons.get(channel) }));
        });
      } catch (error) {
        // amqplib throws synchronously on a closed channel (IllegalOperationError) or an oversized header table.
        finish(new AmqpChannelClosedError(messageId, { cause: error }));
        return;
      }
      if (!writable) this.draining = true;
    });
  }

  close(): Promise<void> {
    return this.managed.close();
  }

  private acquireSlot(messageId: string, started: number): Promise<void> {
    if (this.waiters.size === 0 && this.hasRoom()) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const remaining = Math.max(1, this.options.publishTimeoutMs - (Date.now() - started));
      const ticket = this.waiters.push({
        grant: () => {
          clearTimeout(timer);
          this.inFlight++;
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const timer = setTimeout(() => {
        this.waiters.remove(ticket);
        reject(new AmqpPublishTimeoutError(messageId, this.options.publishTimeoutMs));
      }, remaining);
    });
  }

  private hasRoom(): boolean {
    return !this.draining && this.inFlight < this.options.maxInFlight;
  }

  private release(): void {
    this.inFlight--;
    this.wake();
  }

  private wake(): void {
    while (this.waiters.size > 0 && this.hasRoom()) this.waiters.shift()!.grant();
  }

  private takeReturn(messageId: string): Returned | undefined {
    const returned = this.returns.get(messageId);
    if (returned === undefined) return undefined;
    const oldest = returned.shift();
    if (returned.length === 0) this.returns.delete(messageId);
    return oldest;
  }

  private noteChannelError(channel: ConfirmChannel, error: Error): void {
    const reason = brokerReplyText(error);
    this.closeReasons.set(channel, reason);
    const exchange = (error as { code?: unknown }).code === 404 ? missingExchangeOf(reason) : undefined;
    if (exchange !== undefined) this.options.onExchangeMissing?.(exchange, reason);
  }

  private handleReturn(message: Message): void {
    const id: unknown = message.properties.messageId;
    const messageId = typeof id === 'string' ? id : '';
    const replyText = String((message.fields as { replyText?: unknown }).replyText ?? 'NO_ROUTE');
    const { exchange, routingKey } = message.fields;
    const returned = this.returns.get(messageId);
    if (returned === undefined) this.returns.set(messageId, [{ exchange, routingKey, replyText }]);
    else returned.push({ exchange, routingKey, replyText });
    this.options.onUnroutable?.(exchange, routingKey, replyText);
  }
}
