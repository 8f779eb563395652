import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource } from '../../support/services.js';
import { amqpConsumer, amqpTransport, type InboundMessage } from '../../../delivery/amqp/index.js';
import {
  CONFIRMATION_MANIFEST,
  CONFIRMATIONS_MANIFEST,
  HEADER_ATTEMPT,
  HEADER_DELIVERY_ID,
  HEADER_REPLY_BATCHES,
  HEADER_SENDER,
  parseConfirmations,
} from '../../../delivery/amqp/wire.js';
import { Progress, collectQueue, recordingContext, recordingLogger } from './helpers.js';

const amqp = await amqpResource('amqp roundtrip');

describe.runIf(amqp)('amqp round trip', () => {
  afterAll(() => amqp?.cleanup());

  it('confirms consumer-mode deliveries when the consumer replies, after the handler resolved', async () => {
    const { logger } = recordingLogger();
    const progress = new Progress();
    const queue = amqp!.name('orders');
    const replies = amqp!.name('svc.replies');
    amqp!.name('orders.dead-letter');
    const received: InboundMessage[] = [];
    let handlerFinishedBeforeConfirm = true;
    const context = recordingContext(logger, progress);
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      handler: async (message) => {
        received.push(message);
        if (message.kind === 'steadfast' && context.confirmed.has(message.messageId)) handlerFinishedBeforeConfirm = false;
        progress.notify();
      },
    });
    await consumer.start();
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'svc', replyQueue: replies, logger });
    await transport.start(context);
    try {
      for (let id = 1; id <= 20; id++) {
        await transport.send({ transport: 'amqp', queue }, { senderId: 'order-actor', deliveryId: id, message: { type: 'order.created', id }, attempt: 1 });
      }
      await progress.until(() => context.confirmed.size === 20, 20_000, '20 confirmations');
      expect(received).toHaveLength(20);
      expect(handlerFinishedBeforeConfirm).toBe(true);
      const first = received[0]!;
      expect(first.kind).toBe('steadfast');
      if (first.kind !== 'steadfast') return;
      expect(first.messageId).toBe('order-actor:1');
      expect(first.senderId).toBe('order-actor');
      expect(first.deliveryId).toBe(1);
      expect(first.body).toEqual({ type: 'order.created', id: 1 });
      expect(first.manifest).toBe('order.created');
      expect(first.headers[HEADER_SENDER]).toBe('order-actor');
      expect(first.headers[HEADER_DELIVERY_ID]).toBe(1);
      expect(first.headers[HEADER_ATTEMPT]).toBe(1);
      expect(first.senderAttempt).toBe(1);
      expect(first.attempt).toBe(1);
      expect(first.deliveryCount).toBe(1);
      expect(first.redelivered).toBe(false);
      // per-entity order: one sender, so handled in publish order
      expect(received.map((m) => (m.kind === 'steadfast' ? m.deliveryId : -1))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect([...context.confirmed.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `order-actor:${i + 1}`).sort());
    } finally {
      await transport.close();
      await consumer.close();
    }
  });

  it('confirms the messages handled in one turn with one reply to a sender that reads batches, and one reply per message to others', async () => {
    const { logger } = recordingLogger();
    const progress = new Progress();
    const queue = amqp!.name('batched');
    const replies = amqp!.name('batched.replies');
    amqp!.name('batched.dead-letter');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      prefetch: 50,
      logger,
      entityKey: (message) => message.messageId ?? '',
      handler: async () => {
        arrived++;
        progress.notify();
        await gate;
      },
    });
    await consumer.start();
    const connection = await amqp!.connection();
    const collected = await collectQueue(connection, replies, progress);
    const channel = await connection.createConfirmChannel();
    const publish = (sender: string, deliveryId: number, batches: boolean) =>
      channel.sendToQueue(queue, Buffer.from('{}'), {
        persistent: true,
        messageId: `${sender}:${deliveryId}`,
        replyTo: replies,
        headers: { [HEADER_SENDER]: sender, [HEADER_DELIVERY_ID]: deliveryId, ...(batches ? { [HEADER_REPLY_BATCHES]: 1 } : {}) },
      });
    try {
      for (let id = 1; id <= 10; id++) publish(id % 2 === 0 ? 'even' : 'odd', id, true);
      for (let id = 1; id <= 3; id++) publish('old-sender', id, false);
      await channel.waitForConfirms();
      await progress.until(() => arrived === 13, 10_000, 'all 13 handlers running');
      release(); // every handler resolves in the same turn
      await progress.until(() => collected.length === 4, 10_000, 'one batched reply and three single ones');
      const batched = collected.filter((m) => m.properties.type === CONFIRMATIONS_MANIFEST);
      expect(batched).toHaveLength(1);
      const confirmed = parseConfirmations(batched[0]!.properties, batched[0]!.content)!;
      expect(confirmed.map((c) => `${c.senderId}:${c.deliveryId}`).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `${(i + 1) % 2 === 0 ? 'even' : 'odd'}:${i + 1}`).sort());
      const singles = collected.filter((m) => m.properties.type === CONFIRMATION_MANIFEST);
      expect(singles.map((m) => m.properties.correlationId as string).sort()).toEqual(['old-sender:1', 'old-sender:2', 'old-sender:3']);
      expect(singles.every((m) => m.properties.headers?.[HEADER_SENDER] === 'old-sender')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(collected).toHaveLength(4); // nothing confirmed twice
    } finally {
      await consumer.close();
    }
  });

  it('publishes persistent, mandatory messages with the steadfast properties', async () => {
    const { logger } = recordingLogger();
    const progress = new Progress();
    const exchange = amqp!.name('events');
    const queue = amqp!.name('events.q');
    const replies = amqp!.name('props.replies');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, 'order.*');
    const seen = await collectQueue(connection, queue, progress);
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'props', replyQueue: replies, logger });
    await transport.start(context);
    try {
      await transport.send({ transport: 'amqp', exchange, routingKey: 'order.paid' }, { senderId: 's-1', deliveryId: 7, message: [1, 2], attempt: 3 });
      await progress.until(() => seen.length === 1, 10_000, 'the published message');
      const p = seen[0]!.properties;
      expect(p.deliveryMode).toBe(2);
      expect(p.messageId).toBe('s-1:7');
      expect(p.replyTo).toBe(replies);
      expect(p.contentType).toBe('application/json');
      expect(p.type).toBe('steadfast.json');
      expect(p.headers).toMatchObject({ [HEADER_SENDER]: 's-1', [HEADER_DELIVERY_ID]: 7, [HEADER_ATTEMPT]: 3, [HEADER_REPLY_BATCHES]: 1 });
      expect(JSON.parse(seen[0]!.content.toString())).toEqual([1, 2]);
      // consumer mode: nothing is confirmed by the broker confirm alone
      expect(context.confirmed.size).toBe(0);
    } finally {
      await transport.close();
    }
  });

  it('confirms broker-mode deliveries on the publisher confirm, without a consumer', async () => {
    const { logger } = recordingLogger();
    const progress = new Progress();
    const queue = amqp!.name('plain');
    const replies = amqp!.name('broker.replies');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'broker', replyQueue: replies, logger });
    await transport.start(context);
    try {
      await transport.send({ transport: 'amqp', queue, confirm: 'broker' }, { senderId: 'b', deliveryId: 1, message: { n: 1 }, attempt: 1 });
      // send() resolves after the broker confirm, and the confirmation is reported before it resolves
      expect(context.confirmed.get('b:1')).toBe(1);
      const got = await channel.get(queue, { noAck: true });
      if (got === false) throw new Error('the broker-confirmed delivery is not in its queue');
      expect(got.properties.messageId).toBe('b:1');
      expect(got.properties.replyTo).toBeUndefined();
    } finally {
      await transport.close();
    }
  });
});
