/**
 * Consumes the transport's durable reply queue and hands each confirmation in a reply (one, or many
 * in a batched reply) with the token it echoed to `context.confirmReceived`: anyone who can publish
 * to this queue can put a reply here, so the delivering actor checks the token before it counts. The queue is durable so replies
 * that arrive while this service is down wait for it; a lost reply is harmless (the delivery is
 * redelivered, the receiver dedups it and replies again).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnectionManager, ManagedChannel } from './connection-manager.js';
import { parseConfirmations, type Confirmation } from './wire.js';

export interface ReplyListenerOptions {
  readonly queue: string;
  readonly prefetch: number;
  readonly onConfirmation: (confirmation: Confirmation) => void;
  readonly logger: Logger;
}

export class ReplyListener {
  private readonly managed: ManagedChannel<Channel>;
  private malformedLogged = false;
  /** The newest reply not acked yet, per channel: acked with `multiple` once per turn (one frame for many). */
  private pendingAck: { channel: Channel; message: ConsumeMessage } | undefined;

  constructor(
    manager: AmqpConnectionManager,
    private readonly options: ReplyListenerOptions,
  ) {
    this.managed = manager.createChannel({
      name: `replies ${options.queue}`,
      setup: async (channel) => {
        // Declared here rather than in the shared topology, so a deleted reply queue comes back with
        // the channel that consumes it.
        await channel.assertQueue(options.queue, { durable: true });
        await channel.prefetch(options.prefetch);
        await channel.consume(options.queue, (message) => this.handle(channel, message));
      },
    });
  }

  whenReady(timeoutMs: number): Promise<unknown> {
    return this.managed.whenOpen(timeoutMs);
  }

  close(): Promise<void> {
    return this.managed.close();
  }

  private handle(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // basic.cancel (queue deleted): closing the channel makes the manager re-open it, and the setup
      // re-declares the queue and consumes again.
      this.options.logger.warn({ queue: this.options.queue }, 'reply queue consumer cancelled by the broker; re-subscribing');
      channel.close().catch(() => {});
      return;
    }
    const confirmations = parseConfirmations(message.properties, message.content);
    if (confirmations) {
      for (const confirmation of confirmations) this.options.onConfirmation(confirmation);
    } else if (!this.malformedLogged) {
      this.malformedLogged = true;
      this.options.logger.warn(
        { queue: this.options.queue, messageId: message.properties.messageId as unknown },
        'ignoring replies that carry no senderId/deliveryId (logged once)',
      );
    }
    this.ackSoon(channel, message);
  }

  private ackSoon(channel: Channel, message: ConsumeMessage): void {
    const pending = this.pendingAck;
    if (pending && pending.channel !== channel) this.flushAck();
    const schedule = this.pendingAck === undefined;
    this.pendingAck = { channel, message };
    if (schedule) process.nextTick(() => this.flushAck());
  }

  private flushAck(): void {
    const pending = this.pendingAck;
    this.pendingAck = undefined;
    if (!pending) return;
    try {
      // Replies are handled in delivery order, so everything up to this one is done.
      pending.channel.ack(pending.message, true);
    } catch {
      // The channel closed: unacked replies come again and confirm again (harmless).
    }
  }
}
