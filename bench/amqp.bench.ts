/**
 * RabbitMQ round trip: persistent publish with publisher confirms -> consume -> ack -> reply -> consume
 * the reply, with a window of N round trips in flight. Measured with raw amqplib (the baseline), then
 * through amqpTransport + amqpConsumer (the steadfast path, without journals for now), in the same run.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { pino } from 'pino';
import { amqpConsumer, amqpTransport } from '../delivery/amqp/index.js';
import { elapsedMsSince, perSecond, type Benchmark, type BenchResult } from './harness.js';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MESSAGES = Number(process.env.STEADFAST_BENCH_AMQP_MESSAGES ?? 20_000);
const WINDOWS = [32, 256];
const PREFETCH = 256;
const silent = pino({ level: 'silent' });

function names(label: string) {
  const base = `steadfast-bench-${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
  return { queue: `${base}.q`, replies: `${base}.replies`, dead: `${base}.q.dead-letter` };
}

async function cleanup(...queues: string[]): Promise<void> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  for (const queue of queues) {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.deleteQueue(queue).catch(() => {});
    await channel.close().catch(() => {});
  }
  await connection.close();
}

/** Drives `count` round trips with at most `window` outstanding; `start(id)` begins one, `done` is called per completion. */
function windowed(count: number, window: number, start: (id: number) => void): { complete: (id: number) => void; finished: Promise<void> } {
  let next = 1;
  let completed = 0;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
  const completedIds = new Set<number>();
  const launch = () => {
    if (next <= count) start(next++);
  };
  for (let i = 0; i < window; i++) launch();
  return {
    complete(id) {
      if (completedIds.has(id)) return;
      completedIds.add(id);
      completed++;
      if (completed === count) resolveFinished();
      else launch();
    },
    finished,
  };
}

async function rawRoundTrip(window: number): Promise<number> {
  const { queue, replies } = names('raw');
  // noDelay as in the connection manager: a fair baseline is a well-tuned raw client.
  const senderConnection = await amqp.connect(url, { noDelay: true });
  const receiverConnection = await amqp.connect(url, { noDelay: true });
  try {
    const publish = await senderConnection.createConfirmChannel();
    const replyChannel = await senderConnection.createChannel();
    const receive = await receiverConnection.createConfirmChannel();
    await publish.assertQueue(queue, { durable: true });
    await publish.assertQueue(replies, { durable: true });
    await receive.prefetch(PREFETCH);
    await replyChannel.prefetch(PREFETCH);
    await receive.consume(queue, (message) => {
      if (!message) return;
      receive.ack(message);
      const id = message.properties.messageId as string;
      receive.sendToQueue(message.properties.replyTo as string, Buffer.from(JSON.stringify({ id })), { persistent: true, correlationId: id }, () => {});
    });
    const started = process.hrtime.bigint();
    const driver = windowed(MESSAGES, window, (id) => {
      publish.sendToQueue(queue, Buffer.from(JSON.stringify({ id })), { persistent: true, messageId: `raw:${id}`, replyTo: replies, contentType: 'application/json' }, (error: unknown) => {
        if (error) throw new Error(`raw publish ${id} failed`);
      });
    });
    await replyChannel.consume(replies, (message) => {
      if (!message) return;
      replyChannel.ack(message);
      driver.complete(Number(String(message.properties.correlationId).slice(4)));
    });
    await driver.finished;
    return perSecond(MESSAGES, elapsedMsSince(started));
  } finally {
    await senderConnection.close().catch(() => {});
    await receiverConnection.close().catch(() => {});
    await cleanup(queue, replies);
  }
}

async function steadfastRoundTrip(window: number): Promise<number> {
  const { queue, replies, dead } = names('sf');
  const consumer = amqpConsumer({ url, queue, prefetch: PREFETCH, logger: silent, handler: async () => {} });
  await consumer.start();
  let complete: (id: number) => void = () => {};
  const transport = amqpTransport({ url, serviceName: 'bench', replyQueue: replies, logger: silent, maxInFlight: Math.max(window, 1000) });
  await transport.start({ logger: silent, confirm: (_senderId, deliveryId) => complete(deliveryId) });
  try {
    const started = process.hrtime.bigint();
    const destination = { transport: 'amqp', queue } as const;
    const driver = windowed(MESSAGES, window, (id) => {
      transport.send(destination, { senderId: 'bench', deliveryId: id, message: { id }, attempt: 1 }).catch((error: unknown) => {
        throw new Error(`steadfast send ${id} failed: ${String(error)}`);
      });
    });
    complete = driver.complete;
    await driver.finished;
    return perSecond(MESSAGES, elapsedMsSince(started));
  } finally {
    await transport.close();
    await consumer.close();
    await cleanup(queue, replies, dead);
  }
}

async function run(): Promise<readonly BenchResult[]> {
  const results: BenchResult[] = [];
  for (const window of WINDOWS) {
    const raw = await rawRoundTrip(window);
    const steadfast = await steadfastRoundTrip(window);
    const ratio = Math.round((steadfast / raw) * 100) / 100;
    results.push({ name: `amqp round trip, raw amqplib, window ${window}`, value: raw, unit: 'messages/s' });
    results.push({
      name: `amqp round trip, amqpTransport + amqpConsumer, window ${window}`,
      value: steadfast,
      unit: 'messages/s',
      baseline: raw,
      ratio,
      target: '>= 0.6 ratio',
      meetsTarget: ratio >= 0.6,
    });
  }
  return results;
}

export const benchmarks: Benchmark[] = [{ name: 'amqp round trip', needs: ['rabbitmq'], run }];
