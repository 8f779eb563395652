/**
 * amqpEntityConsumer + DeduplicatingEntity against the real broker, with the in-memory journal: each
 * delivery is applied once by the entity it names, duplicates are confirmed without being applied,
 * order holds within an entity while a stuck entity does not hold up the others, the dedup record
 * survives a restart of the receiving system, and refused deliveries end in the dead-letter queue.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore } from '../../../src/index.js';
import { TestJournal } from '../../../journal/testkit/index.js';
import { amqpEntityConsumer, amqpTransport, EntityEnvelope, GetEntityState, type AmqpTransport } from '../../../delivery/amqp/index.js';
import { HEADER_DEAD_LETTER_ERROR, HEADER_DEAD_LETTER_REASON } from '../../../delivery/amqp/wire.js';
import { amqpResource } from '../../support/services.js';
import { AccountEntity, accountOf, creditPayload, type AccountState } from './account-entity.js';
import { Progress, collectQueue, recordingContext, recordingLogger } from './helpers.js';

const amqp = await amqpResource('amqp entities');
const silent = pino({ level: 'silent' });

async function startTransport(label: string, progress: Progress) {
  const { logger } = recordingLogger(progress);
  const context = recordingContext(logger, progress);
  const transport: AmqpTransport = amqpTransport({ url: amqp!.url, serviceName: amqp!.prefix + label, replyQueue: amqp!.name(`${label}.replies`), logger: silent });
  await transport.start(context);
  return { transport, context };
}

function stateOf(system: ActorSystem, router: Parameters<ActorSystem['ask']>[0], account: string): Promise<AccountState> {
  return system.ask<AccountState>(router, new EntityEnvelope(account, GetEntityState.instance));
}

describe.runIf(amqp)('amqpEntityConsumer', () => {
  afterAll(() => amqp?.cleanup());

  it('applies each delivery once, in order per entity, and confirms duplicates without applying them', async () => {
    const progress = new Progress();
    const queue = amqp!.name('entities');
    amqp!.name('entities.dead-letter');
    const journal = inMemoryJournal({ logger: silent });
    const system = ActorSystem.create('receiver', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    const consumer = amqpEntityConsumer({
      system,
      url: amqp!.url,
      queue,
      logger: silent,
      prefetch: 64,
      entityId: accountOf,
      entityFactory: (id) => new AccountEntity(id, { snapshotEvery: 25 }),
    });
    await consumer.start();
    const { transport, context } = await startTransport('entities', progress);
    const destination = { transport: 'amqp', queue };
    const TOTAL = 200;
    try {
      for (let n = 1; n <= TOTAL; n++) void transport.send(destination, { senderId: 'orders', deliveryId: n, message: creditPayload(n, 5), attempt: 1 });
      // The same deliveries again, as a sender redelivering after lost confirmations would.
      for (let n = 1; n <= TOTAL; n++) void transport.send(destination, { senderId: 'orders', deliveryId: n, message: creditPayload(n, 5), attempt: 2 });
      await progress.until(() => [...context.confirmed.values()].reduce((a, b) => a + b, 0) === 2 * TOTAL, 20_000, 'two confirmations per delivery');
      for (let n = 1; n <= TOTAL; n++) expect(context.confirmed.get(`orders:${n}`)).toBe(2);
      for (let a = 0; a < 5; a++) {
        const state = await stateOf(system, consumer.router, `acct-${a}`);
        const expected = Array.from({ length: TOTAL }, (_, i) => i + 1).filter((n) => n % 5 === a);
        expect(state.applied).toEqual(expected);
        expect(state.balance).toBe(expected.length);
      }
      expect(consumer.stats.handled).toBe(2 * TOTAL);
    } finally {
      await transport.close();
      await consumer.close();
      await system.terminate();
    }

    // A second incarnation of the receiver (same journal, snapshots every 25) still knows what it applied.
    const again = ActorSystem.create('receiver2', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    const second = amqpEntityConsumer({
      system: again,
      url: amqp!.url,
      queue,
      logger: silent,
      entityId: accountOf,
      entityFactory: (id) => new AccountEntity(id, { snapshotEvery: 25 }),
    });
    await second.start();
    const restarted = await startTransport('entities2', progress);
    try {
      await restarted.transport.send(destination, { senderId: 'orders', deliveryId: 7, message: creditPayload(7, 5), attempt: 3 });
      await restarted.transport.send(destination, { senderId: 'orders', deliveryId: TOTAL + 1, message: creditPayload(TOTAL + 1, 5), attempt: 1 });
      await progress.until(() => restarted.context.confirmed.size === 2, 20_000, 'confirmations after the restart');
      const state = await stateOf(again, second.router, 'acct-2');
      expect(state.applied.filter((n) => n === 7)).toEqual([7]);
      expect((await stateOf(again, second.router, `acct-${(TOTAL + 1) % 5}`)).applied.at(-1)).toBe(TOTAL + 1);
    } finally {
      await restarted.transport.close();
      await second.close();
      await again.terminate();
    }
  });

  it('keeps other entities going while one entity is stuck, and keeps that entity in order', async () => {
    const progress = new Progress();
    const queue = amqp!.name('stuck');
    amqp!.name('stuck.dead-letter');
    // acct-0's recovery is held back until released (a stuck entity: it can neither apply nor persist).
    // Not its writes: a journal call carries the writes of every actor that persisted in one turn
    // (src/persistence/write-gatherer.ts), so holding one write holds its neighbours too, as a group
    // commit in a real journal would.
    const journal = new TestJournal(inMemoryJournal({ logger: silent }));
    const stuck = journal.holdReplays({ persistenceId: 'account-acct-0' });
    void stuck.reached.then(() => progress.notify());
    const system = ActorSystem.create('stuck', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    const consumer = amqpEntityConsumer({ system, url: amqp!.url, queue, logger: silent, prefetch: 32, entityId: accountOf, entityFactory: (id) => new AccountEntity(id) });
    await consumer.start();
    const { transport, context } = await startTransport('stuck', progress);
    try {
      for (let n = 1; n <= 40; n++) void transport.send({ transport: 'amqp', queue }, { senderId: 's', deliveryId: n, message: creditPayload(n, 4), attempt: 1 });
      // acct-0 gets 4, 8, ...; everything else completes while its first write is held.
      await progress.until(() => context.confirmed.size === 30 && stuck.hits === 1, 20_000, 'the other entities confirmed while acct-0 is stuck');
      expect([...context.confirmed.keys()].some((key) => Number(key.split(':')[1]) % 4 === 0)).toBe(false);
      stuck.release();
      await progress.until(() => context.confirmed.size === 40, 20_000, 'acct-0 catching up once released');
      expect((await stateOf(system, consumer.router, 'acct-0')).applied).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    } finally {
      stuck.release();
      await transport.close();
      await consumer.close();
      await system.terminate();
    }
  });

  it('parks deliveries the entity refuses and messages naming no entity, and goes on with the rest', async () => {
    const progress = new Progress();
    const queue = amqp!.name('refused');
    const dlq = amqp!.name('refused.dead-letter');
    const system = ActorSystem.create('refused', { journal: inMemoryJournal({ logger: silent }), snapshotStore: inMemorySnapshotStore(), logger: silent });
    const consumer = amqpEntityConsumer({
      system,
      url: amqp!.url,
      queue,
      logger: silent,
      maxAttempts: 2,
      retryDelay: { minDelayMs: 5, maxDelayMs: 10 },
      entityId: accountOf,
      entityFactory: (id) => new AccountEntity(id),
    });
    await consumer.start();
    const parked = await collectQueue(await amqp!.connection(), dlq, progress);
    const { transport, context } = await startTransport('refused', progress);
    try {
      const destination = { transport: 'amqp', queue };
      await transport.send(destination, { senderId: 'r', deliveryId: 1, message: { account: 'a', n: 1, amount: -5 }, attempt: 1 });
      await transport.send(destination, { senderId: 'r', deliveryId: 2, message: { n: 2, amount: 1 }, attempt: 1 });
      await transport.send(destination, { senderId: 'r', deliveryId: 3, message: { account: 'a', n: 3, amount: 1 }, attempt: 1 });
      await progress.until(() => parked.length === 2 && context.confirmed.size === 1, 20_000, 'two parked, one confirmed');
      expect(context.confirmed.has('r:3')).toBe(true);
      const reasons = parked.map((m) => [m.properties.messageId, m.properties.headers?.[HEADER_DEAD_LETTER_REASON], String(m.properties.headers?.[HEADER_DEAD_LETTER_ERROR])]);
      expect(reasons).toContainEqual(['r:1', 'handler-failed', expect.stringContaining('negative amount in r:1')]);
      expect(reasons).toContainEqual(['r:2', 'handler-failed', expect.stringContaining('names no account')]);
      expect((await stateOf(system, consumer.router, 'a')).applied).toEqual([3]);
    } finally {
      await transport.close();
      await consumer.close();
      await system.terminate();
    }
  });
});
