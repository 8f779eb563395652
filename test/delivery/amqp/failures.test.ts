import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource } from '../../support/services.js';
import { AmqpUnroutableError, amqpConsumer, amqpTransport, type InboundMessage } from '../../../delivery/amqp/index.js';
import { HEADER_DEAD_LETTER_ERROR, HEADER_DEAD_LETTER_REASON, HEADER_DELIVERY_ID, HEADER_REDELIVERIES, HEADER_SENDER } from '../../../delivery/amqp/wire.js';
import { Progress, collectQueue, recordingContext, recordingLogger } from './helpers.js';

const amqp = await amqpResource('amqp failures');

function steadfastHeaders(senderId: string, deliveryId: number) {
  return { messageId: `${senderId}:${deliveryId}`, headers: { [HEADER_SENDER]: senderId, [HEADER_DELIVERY_ID]: deliveryId }, persistent: true };
}

describe.runIf(amqp)('amqp failure handling', () => {
  afterAll(() => amqp?.cleanup());

  it('rejects sends of unroutable messages and logs that once per destination', async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const exchange = amqp!.name('nowhere');
    const replies = amqp!.name('unroutable.replies');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'direct', { durable: true });
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'unroutable', replyQueue: replies, logger });
    await transport.start(context);
    try {
      for (let id = 1; id <= 3; id++) {
        const sent = transport.send({ transport: 'amqp', exchange, routingKey: 'nobody' }, { senderId: 'u', deliveryId: id, message: {}, attempt: 1 });
        await expect(sent).rejects.toBeInstanceOf(AmqpUnroutableError);
        await expect(sent).rejects.toMatchObject({ code: 'ERR_AMQP_UNROUTABLE' });
      }
      await expect(transport.send({ transport: 'amqp', queue: amqp!.name('missing-queue') }, { senderId: 'u', deliveryId: 4, message: {}, attempt: 1 })).rejects.toMatchObject({
        code: 'ERR_AMQP_UNROUTABLE',
      });
      const lines = entries.filter((e) => e.msg.startsWith('unroutable'));
      expect(lines.map((e) => e.routingKey)).toEqual(['nobody', `${amqp!.prefix}missing-queue`]);
      expect(context.confirmed.size).toBe(0);
      // the channel is still usable after returns
      const ok = amqp!.name('routable');
      await channel.assertQueue(ok, { durable: true });
      await transport.send({ transport: 'amqp', queue: ok, confirm: 'broker' }, { senderId: 'u', deliveryId: 5, message: {}, attempt: 1 });
      expect(context.confirmed.get('u:5')).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it('parks malformed messages in the dead-letter queue with the reason, and keeps consuming', async () => {
    const progress = new Progress();
    const { logger } = recordingLogger(progress);
    const queue = amqp!.name('malformed');
    const dlq = amqp!.name('malformed.dead-letter');
    const handled: InboundMessage[] = [];
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      manifests: ['order.created'],
      handler: async (message) => {
        handled.push(message);
        progress.notify();
      },
    });
    await consumer.start();
    const connection = await amqp!.connection();
    const dead = await collectQueue(connection, dlq, progress);
    const channel = await connection.createConfirmChannel();
    try {
      channel.sendToQueue(queue, Buffer.from('{not json'), { ...steadfastHeaders('m', 1), type: 'order.created' });
      channel.sendToQueue(queue, Buffer.from('{}'), { persistent: true, type: 'order.created' });
      channel.sendToQueue(queue, Buffer.from('{}'), { ...steadfastHeaders('m', 3), type: 'order.deleted' });
      channel.sendToQueue(queue, Buffer.from('{"ok":true}'), { ...steadfastHeaders('m', 4), type: 'order.created' });
      await channel.waitForConfirms();
      await progress.until(() => dead.length === 3 && handled.length === 1 && consumer.stats.deadLettered === 3, 15_000, '3 dead letters and 1 handled message');
      const reasons = Object.fromEntries(dead.map((m) => [String(m.properties.messageId ?? 'none'), m.properties.headers?.[HEADER_DEAD_LETTER_REASON]]));
      expect(reasons).toEqual({ 'm:1': 'invalid-json', none: 'missing-headers', 'm:3': 'unknown-manifest' });
      const missing = dead.find((m) => m.properties.messageId === undefined)!;
      expect(String(missing.properties.headers?.[HEADER_DEAD_LETTER_ERROR])).toContain('x-steadfast-sender');
      expect(dead.find((m) => m.properties.messageId === 'm:1')!.content.toString()).toBe('{not json');
      expect(handled[0]!.body).toEqual({ ok: true });
      expect(consumer.stats.deadLettered).toBe(3);
    } finally {
      await consumer.close();
    }
  });

  it('retries a failing handler with growing backoff, then parks the message with the last error', async () => {
    const progress = new Progress();
    const { logger } = recordingLogger(progress);
    const queue = amqp!.name('flaky');
    const dlq = amqp!.name('flaky.dead-letter');
    const attempts = new Map<string, number[]>();
    const handledOnce: string[] = [];
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      maxAttempts: 4,
      retryDelay: { minDelayMs: 60, maxDelayMs: 2000, factor: 2 },
      handler: async (message) => {
        const id = message.messageId!;
        const times = attempts.get(id) ?? [];
        times.push(performance.now());
        attempts.set(id, times);
        progress.notify();
        if (id === 'f:1') throw new Error(`boom #${message.attempt}`);
        if (id === 'f:2' && message.attempt < 3) throw new Error('not yet');
        handledOnce.push(`${id}@${message.attempt}`);
      },
    });
    await consumer.start();
    const connection = await amqp!.connection();
    const dead = await collectQueue(connection, dlq, progress);
    const channel = await connection.createConfirmChannel();
    try {
      channel.sendToQueue(queue, Buffer.from('{}'), steadfastHeaders('f', 1));
      channel.sendToQueue(queue, Buffer.from('{}'), steadfastHeaders('g', 2));
      await channel.waitForConfirms();
      channel.sendToQueue(queue, Buffer.from('{}'), { ...steadfastHeaders('f', 2), headers: { [HEADER_SENDER]: 'other', [HEADER_DELIVERY_ID]: 2 } });
      await channel.waitForConfirms();
      await progress.until(() => dead.length === 1 && handledOnce.length === 2 && consumer.stats.deadLettered === 1, 20_000, 'one parked and two handled messages');
      const times = attempts.get('f:1')!;
      expect(times).toHaveLength(4);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // jittered exponential backoff: 60·2^(n-1) · [0.5, 1]
      expect(gaps[0]).toBeGreaterThanOrEqual(25);
      expect(gaps[1]).toBeGreaterThanOrEqual(55);
      expect(gaps[2]).toBeGreaterThanOrEqual(115);
      expect(dead[0]!.properties.messageId).toBe('f:1');
      expect(dead[0]!.properties.headers?.[HEADER_DEAD_LETTER_REASON]).toBe('handler-failed');
      expect(String(dead[0]!.properties.headers?.[HEADER_DEAD_LETTER_ERROR])).toContain('boom #4');
      expect(handledOnce.sort()).toEqual(['f:2@3', 'g:2@1']);
      expect(consumer.stats).toMatchObject({ handled: 2, deadLettered: 1, failedAttempts: 6 });
    } finally {
      await consumer.close();
    }
  });

  it('parks a message whose durable delivery count is exhausted as poison (classic: own count)', async () => {
    const progress = new Progress();
    const { logger } = recordingLogger(progress);
    const queue = amqp!.name('poison');
    const dlq = amqp!.name('poison.dead-letter');
    const handled: string[] = [];
    const consumer = amqpConsumer({ url: amqp!.url, queue, logger, maxDeliveries: 3, handler: async (m) => void handled.push(m.messageId!) });
    await consumer.start();
    const connection = await amqp!.connection();
    const dead = await collectQueue(connection, dlq, progress);
    const channel = await connection.createConfirmChannel();
    try {
      const base = steadfastHeaders('p', 1);
      channel.sendToQueue(queue, Buffer.from('{}'), { ...base, headers: { ...base.headers, [HEADER_REDELIVERIES]: 3 } });
      await channel.waitForConfirms();
      await progress.until(() => dead.length === 1, 15_000, 'the poison message parked');
      expect(dead[0]!.properties.headers?.[HEADER_DEAD_LETTER_REASON]).toBe('poison');
      expect(handled).toEqual([]);
    } finally {
      await consumer.close();
    }
  });

  it('parks a poison message on a quorum queue by its x-delivery-count', async () => {
    const progress = new Progress();
    const { logger } = recordingLogger(progress);
    const queue = amqp!.name('poison-q');
    const dlq = amqp!.name('poison-q.dead-letter');
    const connection = await amqp!.connection();
    const setup = await connection.createConfirmChannel();
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    setup.sendToQueue(queue, Buffer.from('{}'), steadfastHeaders('q', 1));
    await setup.waitForConfirms();
    // Two consumers that "crash" (close without ack) play the process that dies on this message.
    for (let crash = 0; crash < 2; crash++) {
      const victim = await connection.createChannel();
      victim.on('error', () => {});
      const taken = new Promise<void>((resolve) => void victim.consume(queue, (m) => m && resolve(), { noAck: false }));
      await taken;
      await victim.close();
    }
    const handled: string[] = [];
    const dead = await collectQueue(connection, dlq, progress);
    const consumer = amqpConsumer({ url: amqp!.url, queue, logger, queueType: 'quorum', maxDeliveries: 2, handler: async (m) => void handled.push(m.messageId!) });
    await consumer.start();
    try {
      await progress.until(() => dead.length === 1, 15_000, 'the poison message parked');
      expect(dead[0]!.properties.headers?.[HEADER_DEAD_LETTER_REASON]).toBe('poison');
      expect(handled).toEqual([]);
    } finally {
      await consumer.close();
    }
  });

  it('re-subscribes after a consumer cancel (queue deleted and re-created) and still consumes', async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const queue = amqp!.name('cancelled');
    amqp!.name('cancelled.dead-letter');
    const replies = amqp!.name('cancel.replies');
    const handled: string[] = [];
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      handler: async (m) => {
        handled.push(m.messageId!);
        progress.notify();
      },
    });
    await consumer.start();
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'cancel', replyQueue: replies, logger });
    await transport.start(context);
    const connection = await amqp!.connection();
    const admin = await connection.createChannel();
    try {
      await transport.send({ transport: 'amqp', queue }, { senderId: 'c', deliveryId: 1, message: {}, attempt: 1 });
      await progress.until(() => context.confirmed.has('c:1'), 10_000, 'first confirmation');
      await admin.deleteQueue(queue);
      await progress.until(() => entries.some((e) => e.msg.startsWith('consumer cancelled')), 10_000, 'the cancel to be noticed');
      await admin.assertQueue(queue, { durable: true });
      await transport.send({ transport: 'amqp', queue }, { senderId: 'c', deliveryId: 2, message: {}, attempt: 1 });
      await progress.until(() => context.confirmed.has('c:2'), 15_000, 'confirmation after re-subscribing');
      expect(handled).toEqual(['c:1', 'c:2']);
      expect(entries.filter((e) => e.msg.startsWith('consumer cancelled'))).toHaveLength(1);
    } finally {
      await transport.close();
      await consumer.close();
    }
  });
});
