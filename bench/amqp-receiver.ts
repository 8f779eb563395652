/**
 * The receiving side of the RabbitMQ round trips in a process of its own (`amqp end-to-end, two
 * processes`): `raw` acks each message and replies with amqplib, as the raw round trip's consumer
 * does; `steadfast` runs the end-to-end receiver (an `amqpEntityConsumer` whose deduplicating entities
 * persist to PostgreSQL `schema`). Started with fork(); says 'ready' once consuming, and on 'stop'
 * closes and says { cpuMicros } (its own user + system CPU since it was ready).
 */
import amqp from 'amqplib';
import { pino } from 'pino';
import { ActorSystem } from '../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../journal/postgres/index.js';
import { amqpEntityConsumer } from '../delivery/amqp/index.js';
import { AMQP_URL, BenchAccount, consumeRaw, PG_URL, PREFETCH } from './amqp-parts.js';

const [mode, queue, schema] = process.argv.slice(2) as ['raw' | 'steadfast', string, string];
const silent = pino({ level: 'silent' });

async function raw(): Promise<() => Promise<void>> {
  const connection = await amqp.connect(AMQP_URL, { noDelay: true });
  await consumeRaw(await connection.createConfirmChannel(), queue);
  return async () => {
    await connection.close();
  };
}

async function steadfast(): Promise<() => Promise<void>> {
  const receiver = ActorSystem.create('bench-receiver', {
    journal: postgresJournal({ connectionString: PG_URL, schema }),
    snapshotStore: postgresSnapshotStore({ connectionString: PG_URL, schema }),
    logger: silent,
  });
  const consumer = amqpEntityConsumer({
    system: receiver,
    url: AMQP_URL,
    queue,
    prefetch: PREFETCH,
    logger: silent,
    entityId: (message) => String((message.body as { account: number }).account),
    entityFactory: (id) => new BenchAccount(id),
  });
  await consumer.start();
  return async () => {
    await consumer.close();
    await receiver.terminate();
  };
}

const close = mode === 'raw' ? await raw() : await steadfast();
const cpuAtReady = process.cpuUsage();
process.send!('ready');
process.on('message', (message) => {
  if (message !== 'stop') return;
  const used = process.cpuUsage(cpuAtReady);
  void close().then(() => {
    process.send!({ cpuMicros: used.user + used.system }, () => process.exit(0));
  });
});
