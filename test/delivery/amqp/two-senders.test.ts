/**
 * Identity and trust over the real RabbitMQ (in-memory journals, each sender on a store of its own):
 * - two services whose outboxes are both named `outbox` send to one deduplicating entity: every
 *   message of both is applied exactly once, and so are the messages of a store created anew (whose
 *   delivery ids start at 1 again);
 * - a confirmation batch published into a sender's reply queue by someone who knows the sender id and
 *   the delivery ids, but not the tokens, confirms nothing; a real consumer still confirms.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ActorSystem, DeliveryTransports, Outbox, inMemoryJournal, inMemorySnapshotStore, type AsyncWriteJournal } from '../../../src/index.js';
import { amqpConsumer, amqpEntityConsumer, amqpTransport, EntityEnvelope, GetEntityState } from '../../../delivery/amqp/index.js';
import { CONFIRMATION_MANIFEST, CONFIRMATIONS_MANIFEST, HEADER_DELIVERY_ID, HEADER_SENDER } from '../../../delivery/amqp/wire.js';
import { amqpResource } from '../../support/services.js';
import { eventually } from '../../support/eventually.js';
import { AccountEntity, type AccountState } from './account-entity.js';

const amqp = await amqpResource('amqp two senders');
const silent = pino({ level: 'silent' });

function sender(label: string, journal: AsyncWriteJournal = inMemoryJournal()) {
  const replyQueue = amqp!.name(`${label}.replies`);
  const transport = amqpTransport({ url: amqp!.url, serviceName: amqp!.prefix + label, replyQueue, logger: silent });
  const system = ActorSystem.create(label, { journal, snapshotStore: inMemorySnapshotStore(), transports: [transport], logger: silent });
  return { system, replyQueue, outbox: Outbox.start(system, { redeliverInterval: 500 }), journal };
}

describe.runIf(amqp)('two senders, one deduplicating receiver', () => {
  afterAll(() => amqp?.cleanup());

  it('applies every message of two services that share the persistenceId "outbox", and of a store created anew', { timeout: 60_000 }, async () => {
    const queue = amqp!.name('ledger');
    amqp!.name('ledger.dead-letter');
    const receiverJournal = inMemoryJournal();
    const receiver = ActorSystem.create('ledger', { journal: receiverJournal, snapshotStore: inMemorySnapshotStore(), logger: silent });
    // Every message goes to one entity: the case where one sender's ids would shadow the other's.
    const consumer = amqpEntityConsumer({ system: receiver, url: amqp!.url, queue, logger: silent, entityId: () => 'acct-0', entityFactory: (id) => new AccountEntity(id) });
    await consumer.start();
    const billing = sender('billing');
    const shipping = sender('shipping');
    const senders = [billing, shipping];
    try {
      for (let i = 1; i <= 5; i++) {
        await billing.outbox.send({ transport: 'amqp', queue }, { account: 'acct-0', n: 100 + i, amount: 1 });
        await shipping.outbox.send({ transport: 'amqp', queue }, { account: 'acct-0', n: 200 + i, amount: 1 });
      }
      for (const { outbox } of senders)
        await eventually(
          () => outbox.stats(),
          (s) => s.confirmed === 5 && s.inFlight === 0,
          30_000,
          'five confirmed',
        );

      // Billing's store is created anew (DATA_DIR wiped): its delivery ids start at 1 again.
      await billing.system.terminate();
      const recreated = sender('billing-recreated');
      senders.push(recreated);
      for (let i = 1; i <= 5; i++) expect((await recreated.outbox.send({ transport: 'amqp', queue }, { account: 'acct-0', n: 110 + i, amount: 1 })).deliveryId).toBe(i);
      await eventually(
        () => recreated.outbox.stats(),
        (s) => s.confirmed === 5 && s.inFlight === 0,
        30_000,
        'five confirmed after the store was re-created',
      );

      const state = await receiver.ask<AccountState>(consumer.router, new EntityEnvelope('acct-0', GetEntityState.instance));
      const expected = [101, 102, 103, 104, 105, 111, 112, 113, 114, 115, 201, 202, 203, 204, 205];
      expect([...state.applied].sort((a, b) => a - b)).toEqual(expected);
    } finally {
      await consumer.close();
      await receiver.terminate();
      for (const { system } of senders) await system.terminate();
    }
  });

  it('ignores a forged confirmation batch in the reply queue; a real consumer still confirms', { timeout: 60_000 }, async () => {
    const queue = amqp!.name('victim-orders');
    amqp!.name('victim-orders.dead-letter');
    const victim = sender('victim');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    try {
      await DeliveryTransports.get(victim.system).startAll();
      await channel.assertQueue(queue, { durable: true });
      for (let n = 1; n <= 3; n++) await victim.outbox.send({ transport: 'amqp', queue }, { n });
      // The attacker knows the sender id (it is in every Idempotency-Key and message id) and the ids.
      // send() resolves once the delivery is stored; its publish follows: wait until it is in the queue.
      const peek = await eventually(
        () => channel.get(queue, { noAck: false }),
        (message) => message !== false,
        20_000,
        'a delivery in the queue',
      );
      if (peek === false) throw new Error('unreachable: eventually returned no message');
      const senderId = (peek.properties.headers as Record<string, unknown>)[HEADER_SENDER] as string;
      expect(senderId).toMatch(/^outbox@[\w-]{16}$/);
      channel.nack(peek, false, true);

      const forge = (type: string, body: unknown, headers: Record<string, unknown> = {}) =>
        channel.sendToQueue(victim.replyQueue, Buffer.from(JSON.stringify(body)), { type, contentType: 'application/json', headers });
      forge(CONFIRMATIONS_MANIFEST, { confirmations: [{ senderId, deliveryIds: [1, 2, 3] }] });
      forge(CONFIRMATIONS_MANIFEST, { confirmations: [{ senderId, deliveryIds: [1, 2], tokens: ['A'.repeat(22), 'B'.repeat(22)] }] });
      forge(CONFIRMATION_MANIFEST, { senderId, deliveryId: 3 }, { [HEADER_SENDER]: senderId, [HEADER_DELIVERY_ID]: 3 });
      const transports = DeliveryTransports.get(victim.system);
      await eventually(
        async () => transports.rejectedConfirmations,
        (count) => count === 6,
        20_000,
        'six forged confirmations rejected',
      );
      expect(await victim.outbox.stats()).toMatchObject({ confirmed: 0, inFlight: 3 });

      const consumer = amqpConsumer({ url: amqp!.url, queue, logger: silent, handler: async () => {} });
      await consumer.start();
      try {
        await eventually(
          () => victim.outbox.stats(),
          (s) => s.confirmed === 3 && s.inFlight === 0,
          30_000,
          'the real consumer confirms all three',
        );
      } finally {
        await consumer.close();
      }
      expect(transports.rejectedConfirmations).toBe(6);
    } finally {
      await channel.close().catch(() => {});
      await victim.system.terminate();
    }
  });
});
