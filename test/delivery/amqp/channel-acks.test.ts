/**
 * The ack plan of a consume channel. The unit part records what would be sent; the broker part checks
 * that RabbitMQ accepts the plan (a multiple ack naming a tag it no longer holds closes the channel).
 */
import type { Channel, Message } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { ChannelAcks } from '../../../delivery/amqp/channel-acks.js';
import { amqpConsumer } from '../../../delivery/amqp/index.js';
import { HEADER_DELIVERY_ID, HEADER_SENDER } from '../../../delivery/amqp/wire.js';
import { amqpResource } from '../../support/services.js';
import { Progress, recordingLogger } from './helpers.js';

const message = (deliveryTag: number) => ({ fields: { deliveryTag } }) as Message;
const endOfTurn = () => new Promise<void>((resolve) => process.nextTick(resolve));

function recorded(): { channel: Channel; acks: string[] } {
  const acks: string[] = [];
  const channel = { ack: (m: Message, multiple?: boolean) => acks.push(`${m.fields.deliveryTag}${multiple ? '+' : ''}`) } as unknown as Channel;
  return { channel, acks };
}

describe('ChannelAcks', () => {
  it('acks the settled prefix with one multiple ack, what lies past a gap one by one, and never names a tag twice', async () => {
    const { channel, acks } = recorded();
    const plan = new ChannelAcks(channel);
    for (let tag = 1; tag <= 6; tag++) plan.delivered(message(tag));
    for (const tag of [2, 1, 3, 5]) plan.settle(message(tag));
    expect(acks).toEqual([]); // nothing before the end of the turn
    await endOfTurn();
    expect(acks).toEqual(['3+', '5']); // 4 is still being handled
    plan.settle(message(4));
    plan.settle(message(6));
    await endOfTurn();
    // 5 was acked alone: the prefix skips it and names 6, which the broker still holds.
    expect(acks).toEqual(['3+', '5', '6+']);
  });

  it('falls back to one ack per message when one message holds the prefix back for long', async () => {
    const { channel, acks } = recorded();
    const plan = new ChannelAcks(channel);
    plan.delivered(message(1)); // stuck
    for (let tag = 2; tag <= 5000; tag++) {
      plan.delivered(message(tag));
      plan.settle(message(tag));
      if (tag % 100 === 0) await endOfTurn();
    }
    await endOfTurn();
    expect(acks).toHaveLength(4999);
    expect(acks.some((ack) => ack.endsWith('+'))).toBe(false);
    plan.settle(message(1));
    expect(acks.at(-1)).toBe('1'); // at once, on its own: no more bookkeeping for this channel
  });
});

const amqp = await amqpResource('amqp channel acks');

describe.runIf(amqp)('acks against RabbitMQ', () => {
  afterAll(() => amqp?.cleanup());

  it('acks every message exactly once when handlers finish out of order, without a channel error', async () => {
    const { logger, entries } = recordingLogger();
    const progress = new Progress();
    const queue = amqp!.name('acks');
    amqp!.name('acks.dead-letter');
    const finishers = new Map<number, () => void>();
    const handled: number[] = [];
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      prefetch: 100,
      logger,
      entityKey: (m) => m.messageId ?? '',
      handler: async (m) => {
        const id = m.kind === 'steadfast' ? m.deliveryId : 0;
        const finished = new Promise<void>((resolve) => finishers.set(id, resolve));
        progress.notify();
        await finished;
        handled.push(id);
        progress.notify();
      },
    });
    await consumer.start();
    const connection = await amqp!.connection();
    const channel = await connection.createConfirmChannel();
    try {
      for (let id = 1; id <= 100; id++) {
        channel.sendToQueue(queue, Buffer.from('{}'), { persistent: true, messageId: `s:${id}`, headers: { [HEADER_SENDER]: 's', [HEADER_DELIVERY_ID]: id } });
      }
      await channel.waitForConfirms();
      await progress.until(() => finishers.size === 100, 10_000, 'all 100 handlers waiting');
      // Finish in an order full of gaps: evens backwards, then odds, a few per turn.
      const order = [...Array.from({ length: 50 }, (_, i) => 100 - 2 * i), ...Array.from({ length: 50 }, (_, i) => 2 * i + 1)];
      for (let i = 0; i < order.length; i++) {
        finishers.get(order[i]!)!();
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await progress.until(() => handled.length === 100, 10_000, 'all 100 handled');
      await consumer.close();
      // Unacked messages would be back in the queue now that the consumer's channel is closed.
      const check = await connection.createChannel();
      expect((await check.checkQueue(queue)).messageCount).toBe(0);
      expect(new Set(handled).size).toBe(100);
      expect(entries.filter((e) => /channel|PRECONDITION/i.test(String(e.msg)) && e.level >= 40)).toEqual([]);
    } finally {
      for (const finish of finishers.values()) finish(); // a failed wait must not leave close() waiting on handlers
      await consumer.close();
    }
  });
});
