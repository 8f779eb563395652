/**
 * Deliveries to an exchange the broker does not have: RabbitMQ answers such a publish by closing the
 * channel (404), which on the transport's shared confirm channel would fail every publish in flight.
 * The transport checks an exchange (passive declare, on a channel of its own) before it publishes to
 * it, refuses the deliveries to a missing one with the broker's reply, and the others never notice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource } from '../../support/services.js';
import { AmqpChannelClosedError, AmqpUnknownExchangeError, amqpTransport } from '../../../delivery/amqp/index.js';
import { Progress, recordingContext, recordingLogger } from './helpers.js';

const amqp = await amqpResource('amqp missing exchange');

const CLOSED_BY_BROKER = 'AMQP channel closed by the broker; re-opening';

describe.runIf(amqp)('amqp deliveries to a missing exchange', () => {
  afterAll(() => amqp?.cleanup());

  it('answers checkExchange with the broker reply, and refuses sends to a missing exchange without slowing the others', async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const connection = await amqp!.connection();
    const setup = await connection.createChannel();
    const present = amqp!.name('present');
    const queue = amqp!.name('good');
    const missing = amqp!.name('missing');
    await setup.assertExchange(present, 'direct', { durable: true });
    await setup.assertQueue(queue, { durable: true });
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'missing-exchange', replyQueue: amqp!.name('replies'), logger });
    await transport.start(context);
    try {
      expect(await transport.checkExchange(present)).toEqual({ status: 'exists' });
      expect(await transport.checkExchange(missing)).toEqual({ status: 'missing', reason: `NOT_FOUND - no exchange '${missing}' in vhost '/'` });

      const started = performance.now();
      const bad = Array.from({ length: 30 }, (_, i) =>
        transport
          .send({ transport: 'amqp', exchange: missing, routingKey: 'x' }, { senderId: 'm', deliveryId: 1000 + i, message: {}, attempt: 1 })
          .catch((error: unknown) => error),
      );
      const good = Array.from({ length: 300 }, (_, i) =>
        transport.send({ transport: 'amqp', queue, confirm: 'broker' }, { senderId: 'g', deliveryId: i + 1, message: { i }, attempt: 1 }).then(
          () => 'sent',
          (error: unknown) => error,
        ),
      );
      const badResults = await Promise.all(bad);
      for (const result of badResults) {
        expect(result).toBeInstanceOf(AmqpUnknownExchangeError);
        expect((result as Error).message).toContain(`NOT_FOUND - no exchange '${missing}' in vhost '/'`);
      }
      // Every good delivery went out on its first attempt: the shared channel was never closed under it.
      expect(new Set(await Promise.all(good))).toEqual(new Set(['sent']));
      const tookMs = performance.now() - started;
      expect(tookMs).toBeLessThan(8000); // ~100 ms here; a closed channel used to cost seconds of re-opening and redelivery
      expect(entries.filter((entry) => entry.msg === CLOSED_BY_BROKER)).toEqual([]);
      expect(context.confirmed.size).toBe(300);
    } finally {
      await transport.close();
    }
  });

  it('puts the broker reply into the error when an exchange disappears after it was checked, and checks it again', async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const connection = await amqp!.connection();
    const setup = await connection.createChannel();
    const exchange = amqp!.name('vanishing');
    const queue = amqp!.name('vanishing.queue');
    await setup.assertExchange(exchange, 'direct', { durable: true });
    await setup.assertQueue(queue, { durable: true });
    await setup.bindQueue(queue, exchange, 'k');
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'vanishing', replyQueue: amqp!.name('vanishing.replies'), logger });
    await transport.start(context);
    try {
      const destination = { transport: 'amqp', exchange, routingKey: 'k', confirm: 'broker' } as const;
      await transport.send(destination, { senderId: 'v', deliveryId: 1, message: {}, attempt: 1 });
      await setup.deleteExchange(exchange);
      // Known to exist a moment ago: this publish reaches the broker, which closes the channel.
      const raced = await transport.send(destination, { senderId: 'v', deliveryId: 2, message: {}, attempt: 1 }).catch((error: unknown) => error);
      expect(raced).toBeInstanceOf(AmqpChannelClosedError);
      expect((raced as Error).message).toContain(`the broker said NOT_FOUND - no exchange '${exchange}' in vhost '/'`);
      await progress.until(() => entries.some((entry) => entry.msg === CLOSED_BY_BROKER), 5000, 'the channel error');
      // From now on it is known to be missing: refused without another publish (and another closed channel).
      await expect(transport.send(destination, { senderId: 'v', deliveryId: 3, message: {}, attempt: 1 })).rejects.toBeInstanceOf(AmqpUnknownExchangeError);
      expect(entries.filter((entry) => entry.msg === CLOSED_BY_BROKER)).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });
});
