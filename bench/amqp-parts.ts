/** What the RabbitMQ benchmarks share between their processes (`amqp.bench.ts`, `amqp-receiver.ts`). */
import type { ConfirmChannel } from 'amqplib';
import { DeduplicatingEntity } from '../delivery/amqp/index.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PREFETCH = 256;

/** The end-to-end receiver's entity: one `credited` event per delivery, deduplicated. */
export class BenchAccount extends DeduplicatingEntity<{ count: number }, { type: 'credited' }> {
  constructor(id: string) {
    super(`bench-account-${id}`, { count: 0 }, { snapshotEvery: 1000 });
  }
  protected applyDelivery(): { type: 'credited' }[] {
    return [{ type: 'credited' }];
  }
  protected applyEvent(state: { count: number }): { count: number } {
    return { count: state.count + 1 };
  }
}

/** The raw round trip's consumer on `receive`: acks each message and replies with its id. */
export async function consumeRaw(receive: ConfirmChannel, queue: string): Promise<void> {
  await receive.assertQueue(queue, { durable: true });
  await receive.prefetch(PREFETCH);
  await receive.consume(queue, (message) => {
    if (!message) return;
    receive.ack(message);
    const id = message.properties.messageId as string;
    receive.sendToQueue(message.properties.replyTo as string, Buffer.from(JSON.stringify({ id })), { persistent: true, correlationId: id }, () => {});
  });
}
