/**
 * A traced outbox delivery over RabbitMQ to a steadfast consumer (real broker): the message carries
 * the attempt's traceparent in its headers, the consumer's span is a child of it, and the handler runs
 * inside that span, so what it traces joins the sender's trace; the confirmation closes it.
 */
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore, Outbox, currentTraceCarrier, type TraceCarrier } from '../../../src/index.js';
import { amqpConsumer, amqpEntityConsumer, amqpTransport, type InboundDelivery, type InboundMessage } from '../../../delivery/amqp/index.js';
import { AccountEntity, accountOf } from '../amqp/account-entity.js';
import { Progress, recordingContext } from '../amqp/helpers.js';
import { amqpResource } from '../../support/services.js';
import { eventually } from '../../support/eventually.js';
import { stores, Systems } from '../support/delivery-fixtures.js';
import { idsOf, installTracing, type InstalledTracing } from './support/in-memory-tracing.js';

const amqp = await amqpResource('amqp tracing');
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const RECEIVED = { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` };

/** What the entities were handed, in order. */
const delivered: InboundDelivery[] = [];
class TracedAccount extends AccountEntity {
  protected override applyDelivery(delivery: InboundDelivery) {
    delivered.push(delivery);
    return super.applyDelivery(delivery);
  }
}

describe.runIf(amqp)('a traced delivery over RabbitMQ', () => {
  let tracing: InstalledTracing;
  const systems = new Systems();
  beforeAll(() => {
    tracing = installTracing();
  });
  afterAll(async () => {
    await systems.terminateAll();
    await tracing.uninstall();
    await amqp?.cleanup();
  });

  it('outbox -> attempt span -> message headers -> consume span -> the handler’s own span, all one trace', async () => {
    const logger = pino({ level: 'silent' });
    const queue = amqp!.name('traced');
    amqp!.name('traced.dead-letter');
    const replyQueue = amqp!.name('tracing.replies');
    const handled: { message: InboundMessage; carrier: TraceCarrier | undefined }[] = [];
    const consumer = amqpConsumer({
      url: amqp!.url,
      queue,
      logger,
      handler: async (message) => {
        // The handler's own work, traced under whatever context it runs in.
        trace.getTracer('handler').startActiveSpan('handler.work', (span) => {
          handled.push({ message, carrier: currentTraceCarrier() });
          span.end();
        });
      },
    });
    await consumer.start();
    try {
      const system = systems.start('amqp-traced', stores(), { transports: [amqpTransport({ url: amqp!.url, serviceName: 'tracing', replyQueue, logger })], logger });
      const outbox = Outbox.start(system, { redeliverInterval: 2000 });
      await outbox.send({ transport: 'amqp', queue }, { order: 7 }, { trace: RECEIVED });
      await eventually(
        async () => tracing.spans('steadfast.confirm'),
        (spans) => spans.length === 1,
        20_000,
        'the confirmation span',
      );

      const [accept] = tracing.spans('steadfast.accept');
      const [attempt] = tracing.spans('steadfast.attempt');
      const [consume] = tracing.spans('steadfast.consume');
      const [work] = tracing.spans('handler.work');
      const [confirm] = tracing.spans('steadfast.confirm');
      expect(accept?.parentSpanContext?.spanId).toBe(idsOf(RECEIVED.traceparent).parentId);
      expect(attempt?.parentSpanContext?.spanId).toBe(accept?.spanContext().spanId);
      expect(attempt?.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.destination.name': queue, 'steadfast.attempt': 1 });
      expect(handled).toHaveLength(1);
      expect(idsOf(handled[0]!.message.headers.traceparent)).toEqual({ traceId: TRACE_ID, parentId: attempt!.spanContext().spanId });
      expect(consume?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId);
      expect(consume?.attributes).toMatchObject({ 'messaging.destination.name': queue, 'steadfast.delivery_id': 1 });
      expect(work?.parentSpanContext?.spanId).toBe(consume?.spanContext().spanId);
      expect(confirm?.parentSpanContext?.spanId).toBe(accept?.spanContext().spanId);
      for (const span of [accept, attempt, consume, work, confirm]) expect(span?.spanContext().traceId).toBe(TRACE_ID);
    } finally {
      await consumer.close();
    }
  });

  it('an entity consumer hands the trace to the entity (InboundDelivery.trace: the consume span, in the sender’s trace)', async () => {
    tracing.exporter.reset();
    const logger = pino({ level: 'silent' });
    const queue = amqp!.name('traced-entities');
    amqp!.name('traced-entities.dead-letter');
    const system = ActorSystem.create('traced-receiver', { journal: inMemoryJournal({ logger }), snapshotStore: inMemorySnapshotStore(), logger });
    const consumer = amqpEntityConsumer({ system, url: amqp!.url, queue, logger, entityId: accountOf, entityFactory: (id) => new TracedAccount(id) });
    await consumer.start();
    const progress = new Progress();
    const context = recordingContext(logger, progress);
    const transport = amqpTransport({ url: amqp!.url, serviceName: 'tracing-entities', replyQueue: amqp!.name('tracing-entities.replies'), logger });
    await transport.start(context);
    try {
      // A transport of one's own hands OutboundDelivery.trace on as it is: here the wire carries RECEIVED.
      await transport.send({ transport: 'amqp', queue }, { senderId: 'orders', deliveryId: 1, message: { account: 'acct-1', n: 1, amount: 1 }, attempt: 1, trace: RECEIVED });
      await progress.until(() => context.confirmed.size === 1, 20_000, 'the confirmation');
      const [consume] = tracing.spans('steadfast.consume');
      expect(consume?.parentSpanContext?.spanId).toBe(idsOf(RECEIVED.traceparent).parentId);
      expect(delivered).toHaveLength(1);
      expect(idsOf(delivered[0]!.trace?.traceparent)).toEqual({ traceId: TRACE_ID, parentId: consume!.spanContext().spanId });
    } finally {
      await transport.close();
      await consumer.close();
      await system.terminate();
    }
  });
});
