/**
 * Where commands come from: an in-process queue by default, a RabbitMQ queue when AMQP_URL is set. Both
 * hand each message to the handler and "ack" it once the handler resolved.
 */
import pino from 'pino';
import { DELIVERED, type CommandMessage } from './commands.js';

export interface CommandSource {
  readonly description: string;
  /** Hands every message of `messages` to `handler`, one after another; resolves when all were acked. */
  consume(messages: readonly CommandMessage[], handler: (message: CommandMessage) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export function inProcessQueue(): CommandSource {
  return {
    description: 'an in-process queue',
    async consume(messages, handler) {
      for (const message of messages) await handler(message);
    },
    async close() {},
  };
}

/** Publishes the messages to a fresh queue and consumes them with steadfast's amqpConsumer (foreign messages: no steadfast headers). */
export async function rabbitQueue(url: string, label: string): Promise<CommandSource> {
  const amqp = await import('amqplib');
  const { amqpConsumer } = await import('steadfast/amqp');
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const queues: string[] = [];
  return {
    description: 'RabbitMQ',
    async consume(messages, handler) {
      const queue = `steadfast-example.desired-state.${label}.${process.pid}.${queues.length}`;
      queues.push(queue);
      let handled = 0;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const consumer = amqpConsumer({
        url,
        queue,
        prefetch: 1,
        requireSteadfastHeaders: false,
        logger: pino({ level: 'warn' }),
        entityKey: () => 'all',
        handler: async (inbound) => {
          await handler(inbound.body as unknown as CommandMessage);
          if (++handled === messages.length) done();
        },
      });
      // The consumer declares the queue (durable) before it consumes; then the stream is published.
      await consumer.start();
      for (const message of messages)
        channel.sendToQueue(queue, Buffer.from(JSON.stringify(message)), { messageId: message.messageId, contentType: 'application/json', persistent: true });
      await channel.waitForConfirms();
      await finished;
      await consumer.close();
    },
    async close() {
      for (const queue of queues) {
        await channel.deleteQueue(queue).catch(() => {});
        await channel.deleteQueue(`${queue}.dead-letter`).catch(() => {});
      }
      await connection.close();
    },
  };
}

export { DELIVERED };
