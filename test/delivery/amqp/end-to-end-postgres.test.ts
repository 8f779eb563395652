/**
 * At-least-once delivery end to end over the real RabbitMQ, with PostgreSQL journals on both sides:
 * Outbox (amqpTransport registered in its ActorSystem) -> queue -> amqpEntityConsumer -> AccountEntity
 * persisting with dedup -> confirmation over the reply queue -> the Outbox persists it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ActorSystem, DeliveryTransports, Outbox, type OutboxStats } from '../../../src/index.js';
import { amqpEntityConsumer, amqpTransport, EntityEnvelope, EntityRouter, GetEntityState, type AmqpEntityConsumer, type Topology } from '../../../delivery/amqp/index.js';
import { amqpResource, postgresResource } from '../../support/services.js';
import { openJournal, type JournalConfig } from '../../crash/fixtures/amqp-journals.js';
import type { SenderConfig } from '../../crash/fixtures/amqp-sender.js';
import { AccountEntity, accountOf, creditPayload, type AccountState } from './account-entity.js';
import { closeConnectionsNamed, rabbitmqctlAvailable } from './broker-control.js';
import { FixtureProcess } from './child-process.js';
import { Progress, eventually, recordingLogger } from './helpers.js';
import { TcpRelay } from './tcp-relay.js';

const amqp = await amqpResource('amqp e2e');
const pg = amqp ? await postgresResource('amqp e2e') : undefined;
const canDrop = amqp ? await rabbitmqctlAvailable() : false;
const silent = pino({ level: 'silent' });
const senderFixture = fileURLToPath(new URL('../../crash/fixtures/amqp-sender.ts', import.meta.url));

async function pgJournal(label: string): Promise<JournalConfig> {
  return { kind: 'postgres', connectionString: pg!.connectionString, schema: await pg!.newSchema(label) };
}

interface Receiver {
  readonly system: ActorSystem;
  readonly consumer: AmqpEntityConsumer;
  close(): Promise<void>;
}

async function startReceiver(journal: JournalConfig, queue: string): Promise<Receiver> {
  const system = ActorSystem.create('receiver', { ...openJournal(journal), logger: silent });
  const consumer = amqpEntityConsumer({
    system,
    url: amqp!.url,
    queue,
    prefetch: 128,
    logger: silent,
    maxDeliveries: 100,
    entityId: accountOf,
    entityFactory: (id) => new AccountEntity(id, { snapshotEvery: 100 }),
  });
  await consumer.start();
  return {
    system,
    consumer,
    async close() {
      await consumer.close();
      await system.terminate();
    },
  };
}

/** Every n applied exactly once across all accounts, read from a freshly recovered system (i.e. from the journal). */
async function appliedCounts(journal: JournalConfig, accounts: number): Promise<Map<number, number>> {
  const system = ActorSystem.create('verify', { ...openJournal(journal), logger: silent });
  const router = system.actorOf(() => new EntityRouter({ entityFactory: (id) => new AccountEntity(id) }), 'accounts');
  const counts = new Map<number, number>();
  try {
    for (let a = 0; a < accounts; a++) {
      const state = await system.ask<AccountState>(router, new EntityEnvelope(`acct-${a}`, GetEntityState.instance), 30_000);
      for (const n of state.applied) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
  } finally {
    await system.terminate();
  }
  return counts;
}

function expectExactlyOnce(counts: Map<number, number>, total: number): void {
  const missing: number[] = [];
  const twice: number[] = [];
  for (let n = 1; n <= total; n++) {
    const count = counts.get(n) ?? 0;
    if (count === 0) missing.push(n);
    if (count > 1) twice.push(n);
  }
  expect({ missing: missing.slice(0, 20), twice: twice.slice(0, 20), size: counts.size }).toEqual({ missing: [], twice: [], size: total });
}

function senderSystem(journal: JournalConfig, label: string, logger = silent, topology?: Topology) {
  const transport = amqpTransport({ url: amqp!.url, serviceName: amqp!.prefix + label, replyQueue: amqp!.name(`${label}.replies`), logger, ...(topology ? { topology } : {}) });
  const system = ActorSystem.create('sender', { ...openJournal(journal), transports: [transport], logger });
  return { system, transport };
}

describe.runIf(amqp && pg)('at-least-once delivery over RabbitMQ with PostgreSQL journals', () => {
  afterAll(async () => {
    await amqp?.cleanup();
    await pg?.cleanup();
  });

  it.runIf(canDrop)('delivers a 10 000-message stream exactly once while the broker drops the connections twice', { timeout: 180_000 }, async () => {
    const TOTAL = 10_000;
    const ACCOUNTS = 50;
    const queue = amqp!.name('stream');
    amqp!.name('stream.dead-letter');
    const receiverJournal = await pgJournal('stream_recv');
    const senderJournal = await pgJournal('stream_send');
    const receiver = await startReceiver(receiverJournal, queue);
    // The sender's transport says when it lost its connection: that is when a drop has happened.
    const progress = new Progress();
    let connectionsLost = 0;
    const senderLogger = pino(
      { level: 'warn' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as { msg: string; transport?: string };
          if (entry.transport === 'amqp' && entry.msg === 'AMQP connection lost; reconnecting') {
            connectionsLost++;
            progress.notify();
          }
        },
      },
    );
    const { system } = senderSystem(senderJournal, 'stream', senderLogger);
    await DeliveryTransports.get(system).startAll();
    const outbox = Outbox.start(system, { redeliverInterval: 3000 });
    // Drop k is started once `dropAt` deliveries are confirmed. Sends past `holdAfter` wait until the
    // sender's transport has lost its connection k times, so the drop lands while the stream runs, however
    // long rabbitmqctl takes and however fast the machine is (the margin in between keeps the stream
    // flowing while rabbitmqctl works, on a machine of the usual speed).
    const drops = [
      { dropAt: 1500, holdAfter: 4500 },
      { dropAt: 5000, holdAfter: 9000 },
    ];
    try {
      // Paced like live traffic (about 1000/s).
      const started = Date.now();
      let next = 1;
      const worker = async () => {
        while (next <= TOTAL) {
          const n = next++;
          for (const [k, drop] of drops.entries()) {
            if (n > drop.holdAfter) await progress.until(() => connectionsLost > k, 120_000, `drop ${k + 1} to reach the sender`);
          }
          const due = started + n - Date.now();
          if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
          await outbox.send({ transport: 'amqp', queue }, creditPayload(n, ACCOUNTS));
        }
      };
      const sending = Promise.all(Array.from({ length: 100 }, worker));
      for (const [k, drop] of drops.entries()) {
        await eventually(
          () => outbox.stats(),
          (s) => s.confirmed >= drop.dropAt,
          60_000,
          `${drop.dropAt} confirmed`,
        );
        // The broker closes every connection of this test: the sender's transport and the receiver's consumer.
        expect(await closeConnectionsNamed(amqp!.prefix, 'e2e drop')).toBeGreaterThanOrEqual(2);
        await progress.until(() => connectionsLost > k, 60_000, `the sender's transport to lose its connection (drop ${k + 1})`);
      }
      await sending;
      const stats = await eventually(
        () => outbox.stats(),
        (s) => s.confirmed === TOTAL && s.inFlight === 0,
        120_000,
        'every delivery confirmed',
      );
      expect(stats.accepted).toBe(TOTAL);
      expect(connectionsLost).toBe(drops.length);
    } finally {
      await receiver.close();
      await system.terminate();
    }
    // From the journals alone: the receiver applied each message once, the sender has nothing unconfirmed.
    expectExactlyOnce(await appliedCounts(receiverJournal, ACCOUNTS), TOTAL);
    const recovered = senderSystem(senderJournal, 'stream-verify');
    try {
      const stats = await Outbox.start(recovered.system).stats();
      expect(stats).toMatchObject({ accepted: TOTAL, confirmed: TOTAL, inFlight: 0 } satisfies Partial<OutboxStats>);
    } finally {
      await recovered.system.terminate();
    }
  });

  it('keeps a delivery to an unroutable destination unconfirmed and logs that once', { timeout: 60_000 }, async () => {
    const progress = new Progress();
    const { logger, entries } = recordingLogger(progress);
    const exchange = amqp!.name('nowhere');
    const { system } = senderSystem(await pgJournal('unroutable'), 'unroutable', logger, { exchanges: [{ name: exchange, type: 'direct' }] });
    await DeliveryTransports.get(system).startAll();
    const outbox = Outbox.start(system, { redeliverInterval: 100 });
    try {
      const destination = { transport: 'amqp' as const, exchange, routingKey: 'nobody-bound' };
      const first = await outbox.send(destination, { n: 1 });
      const second = await outbox.send(destination, { n: 2 });
      const inFlight = await eventually(
        () => outbox.inFlight(),
        (list) => list.length === 2 && list.every((d) => d.attempt >= 4),
        20_000,
        'four attempts each',
      );
      expect(inFlight.map((d) => d.deliveryId)).toEqual([first.deliveryId, second.deliveryId]);
      expect(inFlight.every((d) => d.lastError?.includes('was returned'))).toBe(true);
      expect(await outbox.status(first.deliveryId)).toMatchObject({ status: 'in-flight' });
      const unroutable = entries.filter((entry) => entry.msg.startsWith('unroutable'));
      expect(unroutable).toHaveLength(1);
      expect(unroutable[0]).toMatchObject({ exchange, routingKey: 'nobody-bound' });
      expect((await outbox.stats()).confirmed).toBe(0);
    } finally {
      await system.terminate();
    }
  });

  it('confirms on the broker confirm for a foreign consumer that never replies', { timeout: 60_000 }, async () => {
    const queue = amqp!.name('foreign');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    const seen: { messageId: string; replyTo: unknown; body: unknown }[] = [];
    await channel.consume(queue, (message) => {
      if (!message) return;
      seen.push({ messageId: String(message.properties.messageId), replyTo: message.properties.replyTo, body: JSON.parse(message.content.toString()) });
      channel.ack(message);
    });
    const journal = await pgJournal('foreign');
    const { system } = senderSystem(journal, 'foreign');
    await DeliveryTransports.get(system).startAll();
    const outbox = Outbox.start(system, { name: 'foreign-outbox' });
    try {
      for (let n = 1; n <= 100; n++) await outbox.send({ transport: 'amqp', queue, confirm: 'broker' }, { n });
      await eventually(
        () => outbox.stats(),
        (s) => s.confirmed === 100 && s.inFlight === 0,
        20_000,
        'all broker-confirmed',
      );
      await eventually(
        async () => seen.length,
        (count) => count >= 100,
        20_000,
        'the foreign consumer got them',
      );
      expect(new Set(seen.map((m) => m.messageId)).size).toBe(100);
      expect(seen.every((m) => m.replyTo === undefined)).toBe(true);
      expect(seen.map((m) => (m.body as { n: number }).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    } finally {
      await system.terminate();
    }
    const recovered = senderSystem(journal, 'foreign-verify');
    try {
      expect(await Outbox.start(recovered.system, { name: 'foreign-outbox' }).stats()).toMatchObject({ accepted: 100, confirmed: 100, inFlight: 0 });
    } finally {
      await recovered.system.terminate();
    }
  });

  it('delivers everything accepted while the broker was unreachable, after the sender was SIGKILLed and restarted', { timeout: 120_000 }, async () => {
    const TOTAL = 500;
    const ACCOUNTS = 10;
    const queue = amqp!.name('unreachable');
    amqp!.name('unreachable.dead-letter');
    const broker = new URL(amqp!.url);
    const relay = await TcpRelay.reserve({ host: broker.hostname, port: Number(broker.port) || 5672 });
    const senderJournal = await pgJournal('unreach_send');
    const receiverJournal = await pgJournal('unreach_recv');
    const config: SenderConfig = {
      url: relay.urlFrom(amqp!.url),
      journal: senderJournal,
      queue,
      serviceName: `${amqp!.prefix}unreachable`,
      replyQueue: amqp!.name('unreachable.replies'),
      total: TOTAL,
      accounts: ACCOUNTS,
      redeliverIntervalMs: 1000,
      window: 50,
      startTimeoutMs: 500,
      ratePerSecond: 0,
    };
    // The queue exists (a consumer is not running yet): what reaches it while the relay is closed is nothing.
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    const first = new FixtureProcess(senderFixture, config, 'sender (broker unreachable)');
    let second: FixtureProcess | undefined;
    let receiver: Receiver | undefined;
    try {
      await first.waitFor(/^accepted (\d+)$/, 60_000, (m) => Number(m[1]) === TOTAL);
      // Sends accepted = persisted; the broker never saw one. This is where in-memory buffers die.
      await first.kill();
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);

      await relay.open();
      receiver = await startReceiver(receiverJournal, queue);
      second = new FixtureProcess(senderFixture, config, 'sender (restarted)');
      await second.waitFor(/^done$/, 90_000);
    } finally {
      await first.kill();
      await second?.stop();
      await receiver?.close();
      await relay.block();
    }
    expectExactlyOnce(await appliedCounts(receiverJournal, ACCOUNTS), TOTAL);
  });
});
