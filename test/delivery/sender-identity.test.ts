/**
 * Who a sender is on the wire, and what a confirmation must prove. Over a fake transport, so each case
 * controls exactly what is sent and what comes back:
 * - a sender is `${persistenceId}@${storeId}`, stable across restarts on one store, new on a store
 *   created anew, and its keys never change once sent (also when only a snapshot survived);
 * - a confirmation that arrives as a message counts only with the delivery's token;
 * - deliveries sent before a sender had an identity keep their old key and are confirmed without one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryTransports, Outbox, type OutboundDelivery } from '../../src/index.js';
import { SENDER_IDENTITY_STREAM_PREFIX, SenderIdentity } from '../../delivery/sender-identity.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { FakeTransport, isConfirmed, observedJournal, observedStores, settleMicrotasks, Systems, type ObservedStores } from './support/delivery-fixtures.js';
import { eventually } from '../support/eventually.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

const topic = { transport: 'fake', topic: 'orders' } as const;
const isOutbound = (message: unknown): message is OutboundDelivery => typeof (message as OutboundDelivery | undefined)?.deliveryId === 'number';

/** An outbox on `plugins` whose fake transport records every send (and confirms nothing by itself). */
function startOutbox(name: string, plugins: ObservedStores, options: { storeId?: string; snapshotEvery?: number } = {}) {
  const fake = new FakeTransport();
  const system = systems.start(name, plugins, { transports: [fake], ...(options.storeId ? { atLeastOnceDelivery: { storeId: options.storeId } } : {}) });
  const sends = TestProbe.create(system, 'sends');
  fake.sends = sends.ref;
  const outbox = Outbox.start(system, { redeliverInterval: 60_000, ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}) });
  return { system, fake, sends, outbox };
}

async function nextSends(probe: TestProbe, count: number): Promise<OutboundDelivery[]> {
  const sent: OutboundDelivery[] = [];
  for (let i = 0; i < count; i++) sent.push(await probe.expectMsg<OutboundDelivery>(isOutbound));
  return sent.sort((a, b) => a.deliveryId - b.deliveryId);
}

describe('sender identity on the wire', () => {
  it('is persistenceId@storeId, the same after a restart on the same store, and new for a store created anew', async () => {
    const store = observedStores();
    const first = startOutbox('identity-1', store);
    await first.outbox.send(topic, { n: 1 });
    const [sent] = await nextSends(first.sends, 1);
    expect(sent!.senderId).toMatch(/^outbox@[\w-]{16}$/);
    await first.system.terminate();

    // Restarted on the same store: the unconfirmed delivery goes out again under the same key and token.
    const second = startOutbox('identity-2', store);
    const [resent] = await nextSends(second.sends, 1);
    expect(resent).toMatchObject({ senderId: sent!.senderId, deliveryId: 1, confirmationToken: sent!.confirmationToken });
    await second.system.terminate();

    // A store created anew (DATA_DIR or schema re-created) numbers from 1 again, under another sender id.
    const fresh = startOutbox('identity-fresh', observedStores());
    await fresh.outbox.send(topic, { n: 1 });
    const [again] = await nextSends(fresh.sends, 1);
    expect(again!.deliveryId).toBe(1);
    expect(again!.senderId).toMatch(/^outbox@[\w-]{16}$/);
    expect(again!.senderId).not.toBe(sent!.senderId);
  });

  it('takes a configured store id; deliveries sent under the old one keep their key when it changes', async () => {
    const store = observedStores();
    const first = startOutbox('configured-1', store, { storeId: 'billing-eu' });
    await first.outbox.send(topic, { n: 1 });
    expect((await nextSends(first.sends, 1))[0]!.senderId).toBe('outbox@billing-eu');
    await first.system.terminate();

    const second = startOutbox('configured-2', store, { storeId: 'billing-eu-2' });
    expect((await nextSends(second.sends, 1))[0]).toMatchObject({ deliveryId: 1, senderId: 'outbox@billing-eu' });
    await second.outbox.send(topic, { n: 2 });
    expect((await nextSends(second.sends, 1))[0]).toMatchObject({ deliveryId: 2, senderId: 'outbox@billing-eu-2' });
  });

  it('keeps the keys of deliveries restored from a snapshot when the journal forgot everything (bare-library defaults)', async () => {
    // In-memory journal + a snapshot store that survives: the second "process" has an empty journal.
    const store = observedStores();
    const first = startOutbox('snapshot-1', store, { snapshotEvery: 2 });
    const saved = store.snapshotStore.saved();
    await first.outbox.send(topic, { n: 1 });
    await first.outbox.send(topic, { n: 2 });
    const sent = await nextSends(first.sends, 2);
    await saved;
    await first.system.terminate();

    const emptyJournal = observedJournal();
    const second = startOutbox('snapshot-2', { journal: emptyJournal, snapshotStore: store.snapshotStore });
    const resent = await nextSends(second.sends, 2);
    // The key (what receivers deduplicate on) is the one first sent. The token comes from the secret the
    // new journal holds: a receiver echoes the newest copy's, so it still confirms.
    expect(resent.map(({ deliveryId, senderId }) => ({ deliveryId, senderId }))).toEqual(sent.map(({ deliveryId, senderId }) => ({ deliveryId, senderId })));
    const confirmed = emptyJournal.stored(isConfirmed);
    second.fake.replyFor(resent[0]!.senderId, 1, resent[0]!.confirmationToken);
    await confirmed;
    // New deliveries get the new store's identity; their ids go on from the snapshot's counter.
    await second.outbox.send(topic, { n: 3 });
    const [next] = await nextSends(second.sends, 1);
    expect(next!.deliveryId).toBe(3);
    expect(next!.senderId).not.toBe(sent[0]!.senderId);
  });
});

describe('confirmations that arrive as messages', () => {
  it('count only with the delivery’s token; the wrong sender, no token or a wrong one are ignored and counted', async () => {
    const store = observedStores();
    const { system, fake, sends, outbox } = startOutbox('tokens', store);
    await outbox.send(topic, { n: 1 });
    const [sent] = await nextSends(sends, 1);
    const { senderId, deliveryId, confirmationToken } = sent!;
    expect(confirmationToken).toMatch(/^[\w-]{22}$/);

    fake.replyFor(senderId, deliveryId, undefined);
    fake.replyFor(senderId, deliveryId, 'A'.repeat(22));
    fake.replyFor(senderId, deliveryId, `${confirmationToken!}x`);
    fake.replyFor('outbox', deliveryId, confirmationToken); // the bare persistenceId: not this delivery's key
    const transports = DeliveryTransports.get(system);
    await eventually(
      async () => transports.rejectedConfirmations,
      (count) => count === 4,
      5000,
      'four rejected confirmations',
    );
    await settleMicrotasks();
    expect(await outbox.stats()).toMatchObject({ inFlight: 1, confirmed: 0 });

    const confirmed = store.journal.stored(isConfirmed);
    fake.replyFor(senderId, deliveryId, confirmationToken);
    await confirmed;
    expect(await outbox.stats()).toMatchObject({ inFlight: 0, confirmed: 1 });
    expect(transports.rejectedConfirmations).toBe(4);
  });

  it('a token of one delivery does not confirm another', async () => {
    const store = observedStores();
    const { system, fake, sends, outbox } = startOutbox('token-swap', store);
    await outbox.send(topic, { n: 1 });
    await outbox.send(topic, { n: 2 });
    const [one, two] = await nextSends(sends, 2);
    fake.replyFor(two!.senderId, 2, one!.confirmationToken);
    await eventually(
      async () => DeliveryTransports.get(system).rejectedConfirmations,
      (count) => count === 1,
      5000,
      'one rejected confirmation',
    );
    expect(await outbox.stats()).toMatchObject({ inFlight: 2, confirmed: 0 });
  });
});

describe('upgrading a store whose deliveries were sent before sender identities', () => {
  it('re-sends old deliveries under their old key (confirmed without a token) and keys new ones with the identity', async () => {
    const store = observedStores();
    const first = startOutbox('upgrade-1', store);
    await first.outbox.send(topic, { n: 1 });
    await first.outbox.send(topic, { n: 2 });
    await nextSends(first.sends, 2);
    await first.system.terminate();
    // What a store written by the previous version looks like: the actor's events, no identity record.
    await store.journal.deleteMessagesTo(`${SENDER_IDENTITY_STREAM_PREFIX}outbox`, Number.MAX_SAFE_INTEGER);

    const second = startOutbox('upgrade-2', store);
    const resent = await nextSends(second.sends, 2);
    expect(resent.map(({ senderId, confirmationToken }) => ({ senderId, confirmationToken }))).toEqual([
      { senderId: 'outbox', confirmationToken: undefined },
      { senderId: 'outbox', confirmationToken: undefined },
    ]);
    await second.outbox.send(topic, { n: 3 });
    const [fresh] = await nextSends(second.sends, 1);
    expect(fresh!.senderId).toMatch(/^outbox@[\w-]{16}$/);
    expect(fresh!.confirmationToken).toBeDefined();

    // An older consumer echoes no token: enough for the old deliveries, not for the new one.
    const confirmed = store.journal.stored(isConfirmed);
    second.fake.replyFor('outbox', 1, undefined);
    await confirmed;
    second.fake.replyFor(fresh!.senderId, 3, undefined);
    await eventually(
      async () => DeliveryTransports.get(second.system).rejectedConfirmations,
      (count) => count === 1,
      5000,
      'the untokened confirmation of a new delivery rejected',
    );
    expect((await second.outbox.inFlight()).map((delivery) => delivery.deliveryId)).toEqual([2, 3]);
  });
});

describe('tokens', () => {
  const secret = Buffer.alloc(32, 7);
  const identity = () => new SenderIdentity('outbox', [{ storeId: 'store-a', fromSequenceNr: 1 }], secret);

  it('are 128 bits (22 base64url characters), the same for a delivery whatever order ids are asked in', () => {
    const ascending = identity();
    const first = Array.from({ length: 200 }, (_, i) => ascending.tokenFor('outbox@store-a', i + 1));
    const scattered = identity();
    const again = [150, 3, 64, 65, 2 ** 40, 63, 1].map((id) => scattered.tokenFor('outbox@store-a', id));
    expect(again).toEqual([first[149], first[2], first[63], first[64], ascending.tokenFor('outbox@store-a', 2 ** 40), first[62], first[0]]);
    for (const token of first) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(first).size).toBe(200);
  });

  it('differ between sender ids and between secrets', () => {
    const a = identity();
    const other = new SenderIdentity('outbox', [{ storeId: 'store-a', fromSequenceNr: 1 }], Buffer.alloc(32, 8));
    expect(a.tokenFor('outbox@store-b', 5)).not.toBe(a.tokenFor('outbox@store-a', 5));
    expect(other.tokenFor('outbox@store-a', 5)).not.toBe(a.tokenFor('outbox@store-a', 5));
  });
});
