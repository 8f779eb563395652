import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource } from '../../support/services.js';
import { AmqpUnavailableError, amqpConnection, amqpConsumer, amqpTransport } from '../../../delivery/amqp/index.js';
import { closeConnectionsNamed, rabbitmqctlAvailable } from './broker-control.js';
import { Progress, recordingContext, recordingLogger } from './helpers.js';
import { SimulatedSender } from './simulated-sender.js';

const amqp = await amqpResource('amqp resilience');
const canControlBroker = amqp !== undefined && (await rabbitmqctlAvailable());
if (amqp && !canControlBroker) {
  if (process.env.STEADFAST_REQUIRE_SERVICES === '1') throw new Error('rabbitmqctl is needed to drop connections');
  console.warn('[skip] rabbitmqctl not usable here: connection-drop test skipped');
}

const TOTAL = 10_000;

describe.runIf(canControlBroker)('amqp resilience', () => {
  afterAll(() => amqp?.cleanup());

  it(`handles and confirms all of ${TOTAL} messages when the broker drops every connection mid-stream`, { timeout: 180_000 }, async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const queue = amqp!.name('stream');
    amqp!.name('stream.dead-letter');
    const replies = amqp!.name('stream.replies');
    const effects = new Set<string>();
    let deliveries = 0;
    let dropped: Promise<number> | undefined;
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      prefetch: 64,
      reconnect: { minDelayMs: 50, maxDelayMs: 1000 },
      // The receiver's persisted state: the effect is applied once per messageId.
      handler: async (message) => {
        deliveries++;
        effects.add(message.messageId!);
        progress.notify();
      },
    });
    await consumer.start();
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({
      url: amqp!.url,
      serviceName: `${amqp!.prefix}stream`,
      replyQueue: replies,
      logger,
      publishTimeoutMs: 5000,
      reconnect: { minDelayMs: 50, maxDelayMs: 1000 },
    });
    const senderLostConnection = progress.until(
      () => entries.some((e) => e.transport === 'amqp' && e.msg === 'AMQP connection lost; reconnecting'),
      120_000,
      "the sender's transport to lose its connection",
    );
    senderLostConnection.catch(() => {}); // a failure reaches the test through the held sends
    const sender = new SimulatedSender(transport, { transport: 'amqp', queue }, 'streamer', {
      redeliverAfterMs: 3000,
      tickMs: 500,
      window: 128,
      firstSendsPerSecond: 2500,
      // Dropped at 10 %: rabbitmqctl needs a few seconds to act, the stream lasts 4 s. First sends past
      // 80 % wait until the transport lost its connection, so the drop lands mid-stream whatever
      // rabbitmqctl's and the machine's speed.
      onSend: (sends) => {
        if (sends === TOTAL * 0.1) dropped = closeConnectionsNamed(amqp!.prefix);
      },
      hold: { afterId: TOTAL * 0.8, until: senderLostConnection },
    });
    const confirm = context.confirm.bind(context);
    context.confirm = (senderId, deliveryId) => {
      sender.confirm(deliveryId);
      confirm(senderId, deliveryId);
    };
    await transport.start(context);
    try {
      await sender.sendAll(TOTAL);
      await progress.until(() => sender.unconfirmed.size === 0 && effects.size === TOTAL, 150_000, 'every message handled and confirmed');
      expect(await dropped).toBeGreaterThanOrEqual(2);
      // The last connection may be dropped after the last confirmation: wait for both reconnects.
      await progress.until(() => entries.filter((e) => e.msg === 'AMQP connected').length >= 4, 30_000, 'both sides reconnected');
      expect(effects.size).toBe(TOTAL);
      expect(deliveries).toBeGreaterThanOrEqual(TOTAL);
      for (let id = 1; id <= TOTAL; id++) expect(context.confirmed.has(`streamer:${id}`)).toBe(true);
      // Both sides lost and regained their connection, each logged once, not per message.
      const lost = entries.filter((e) => e.msg === 'AMQP connection lost; reconnecting');
      const connected = entries.filter((e) => e.msg === 'AMQP connected');
      expect(lost.length).toBeGreaterThanOrEqual(2);
      expect(lost.length).toBeLessThanOrEqual(4);
      expect(connected.length).toBe(2 + lost.length);
      expect(consumer.stats.deadLettered).toBe(0);
      // Sends in flight when the connection dropped, and sends made while it was down (at once after the
      // loss, if the stream was held), failed and were resent by the sender's tick.
      expect(sender.sendFailures).toBeGreaterThan(0);
      expect(sender.sends).toBeGreaterThan(TOTAL);
      console.info(`[amqp resilience] sends=${sender.sends} failedSends=${sender.sendFailures} handlerCalls=${deliveries} recounted=${consumer.stats.recounted}`);
    } finally {
      sender.stop();
      await transport.close();
      await consumer.close();
    }
  });

  it('re-declares the topology (exchange, queues with dead-lettering, bindings) after a reconnect', async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const exchange = amqp!.name('topo.x');
    const queue = amqp!.name('topo.q');
    const dlx = amqp!.name('topo.dlx');
    const manager = amqpConnection({
      url: amqp!.url,
      connectionName: `${amqp!.prefix}topology`,
      logger,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      topology: {
        exchanges: [
          { name: exchange, type: 'topic' },
          { name: dlx, type: 'fanout' },
        ],
        queues: [{ name: queue, deadLetterExchange: dlx }],
        bindings: [{ exchange, queue, routingKey: 'a.#' }],
      },
    });
    await manager.start();
    const connection = await amqp!.connection();
    const admin = await connection.createConfirmChannel();
    try {
      await admin.deleteQueue(queue);
      await admin.deleteExchange(exchange);
      await closeConnectionsNamed(`${amqp!.prefix}topology`);
      await progress.until(() => entries.filter((e) => e.msg === 'AMQP connected').length === 2, 20_000, 'the reconnect');
      expect(manager.state).toBe('connected');
      await admin.checkExchange(exchange);
      await admin.checkExchange(dlx);
      const declared = await admin.checkQueue(queue);
      expect(declared.queue).toBe(queue);
      // the binding is back: a publish to the exchange lands in the queue
      admin.publish(exchange, 'a.b', Buffer.from('{}'), { mandatory: true });
      await admin.waitForConfirms();
      const got = await admin.get(queue, { noAck: true });
      expect(got).not.toBe(false);
    } finally {
      await manager.close();
    }
    expect(manager.state).toBe('closed');
  });
});

describe('amqp with the broker away', () => {
  it('starts anyway and rejects sends at once instead of buffering them', async () => {
    const { logger, entries } = recordingLogger();
    const transport = amqpTransport({ url: 'amqp://guest:guest@127.0.0.1:1', serviceName: 'away', logger, startTimeoutMs: 200, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    await transport.start({ logger, confirm: () => {}, confirmReceived: () => {} });
    try {
      let settled = false;
      const sent = transport.send({ transport: 'amqp', queue: 'q' }, { senderId: 'a', deliveryId: 1, message: {}, attempt: 1 });
      sent.then(
        () => (settled = true),
        () => (settled = true),
      );
      // At once: settled before the event loop turns, so it waited for no timer, socket or reconnect.
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(true);
      await expect(sent).rejects.toBeInstanceOf(AmqpUnavailableError);
      expect(entries.some((e) => e.msg.startsWith('RabbitMQ not reachable at start'))).toBe(true);
      // one warning per outage; later failed attempts only at debug level
      expect(entries.filter((e) => e.level >= 40 && e.msg.startsWith('connecting to RabbitMQ failed'))).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });
});
