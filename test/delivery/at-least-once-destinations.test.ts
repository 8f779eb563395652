/**
 * Where deliveries go: an ActorRef, an actor path resolved at every send (a receiver created later, or
 * stopped and created again, still gets the redeliveries), and a transport destination served by a
 * DeliveryTransport whose confirmations reach the sender through context.confirm, also after a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryConfirmed, type OutboundDelivery } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import {
  Confirmed,
  ConfirmingDestination,
  FakeTransport,
  Recovered,
  Systems,
  isPayload,
  settleMicrotasks,
  startSender,
  stores,
  type SenderState,
} from './support/delivery-fixtures.js';
import { ManualClock } from '../support/manual-clock.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

const isOutbound = (message: unknown): message is OutboundDelivery => message !== null && typeof message === 'object' && typeof (message as OutboundDelivery).senderId === 'string';

describe('actor destinations', () => {
  it('an ActorRef destination is kept as its path in the delivery state', async () => {
    const system = systems.start('ref', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, { persistenceId: 'ref', destination: destination.ref, reports: reports.ref, settings: { redeliverInterval: 60_000 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    expect(await destination.expectMsg(isPayload)).toEqual({ id: 1, text: 'a' });
    // The delivery names the sender as its sender: replying confirms.
    expect(destination.lastSender).toBe(sender);
    const state = await sender.ask<SenderState>({ type: 'state' });
    expect(state.deliveries.map((d) => d.destination)).toEqual(['/user/destination']);
  });

  it('resolves an actor path at each send: a receiver created after the first send gets the redelivery', async () => {
    // On the manual clock no redelivery is due until the test moves it: the first send is the only one
    // before the receiver exists, however slow the machine.
    const clock = ManualClock.install();
    try {
      const system = systems.start('late', stores());
      const reports = TestProbe.create(system, 'reports');
      const seen = TestProbe.create(system, 'seen');
      const sender = startSender(system, { persistenceId: 'late', destination: '/user/late-receiver', reports: reports.ref, settings: { redeliverInterval: 100 } });
      await reports.expectMsgType(Recovered);
      sender.tell({ type: 'send', text: 'a' });
      // The first send went to dead letters: nobody lives at the path yet.
      const first = await sender.ask<SenderState>({ type: 'state' });
      expect(first.deliveries.map((d) => [d.deliveryId, d.attempt])).toEqual([[1, 1]]);
      system.actorOf(() => new ConfirmingDestination(seen.ref), 'late-receiver');
      clock.advance(100);
      expect(await seen.expectMsg(isPayload, 5000)).toEqual({ id: 1, text: 'a' });
      expect(await reports.expectMsgType(Confirmed)).toEqual(new Confirmed(1, 0));
    } finally {
      clock.restore();
    }
  });

  it('reaches a receiver that was stopped and created again under the same path', async () => {
    const system = systems.start('recreated', stores());
    const reports = TestProbe.create(system, 'reports');
    const sender = startSender(system, { persistenceId: 'recreated', destination: '/user/receiver', reports: reports.ref, settings: { redeliverInterval: 100 } });
    await reports.expectMsgType(Recovered);
    const before = TestProbe.create(system, 'receiver');
    sender.tell({ type: 'send', text: 'a' });
    expect(await before.expectMsg(isPayload)).toEqual({ id: 1, text: 'a' });
    await system.stop(before.ref); // "crashed" without confirming
    const after = TestProbe.create(system, 'receiver');
    expect(await after.expectMsg(isPayload, 5000)).toEqual({ id: 1, text: 'a' });
    after.reply(new DeliveryConfirmed(1));
    expect(await reports.expectMsgType(Confirmed)).toEqual(new Confirmed(1, 0));
  });
});

describe('transport destinations', () => {
  const orders = { transport: 'fake' as const, topic: 'orders' };

  it('hands deliveries to the transport and takes its confirmation through context.confirm, also after the sender restarted', async () => {
    const plugins = stores();
    const fake = new FakeTransport();
    const first = systems.start('transport-1', plugins, { transports: [fake] });
    const reports = TestProbe.create(first, 'reports');
    const sends = TestProbe.create(first, 'sends');
    fake.sends = sends.ref;
    const sender = startSender(first, { persistenceId: 'tx', destination: orders, reports: reports.ref, settings: { redeliverInterval: 60_000 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    const firstSend = await sends.expectMsg<OutboundDelivery>(isOutbound);
    // On the wire the sender is persistenceId@storeId, with a token the receiver would echo.
    expect(firstSend).toEqual({
      senderId: expect.stringMatching(/^tx@[\w-]{16}$/),
      deliveryId: 1,
      message: { id: 1, text: 'a' },
      attempt: 1,
      oldestUnconfirmedId: 1,
      confirmationToken: expect.stringMatching(/^[\w-]{22}$/),
    });
    fake.behaviour = 'confirm';
    sender.tell({ type: 'send', text: 'b' });
    await sends.expectMsg(isOutbound);
    expect(await reports.expectMsgType(Confirmed)).toEqual(new Confirmed(2, 1));
    await first.terminate();

    // Restarted: recovery resends 1 over the transport, whose confirmation is routed to the new incarnation.
    const second = systems.start('transport-2', plugins, { transports: [fake] });
    const reports2 = TestProbe.create(second, 'reports');
    const sends2 = TestProbe.create(second, 'sends');
    fake.sends = sends2.ref;
    startSender(second, { persistenceId: 'tx', destination: orders, reports: reports2.ref, settings: { redeliverInterval: 60_000 } });
    expect(await reports2.expectMsgType(Recovered)).toEqual(new Recovered(0, 1, 2));
    // Same store, so the same key and token: a deduplicating receiver recognises the resend.
    expect(await sends2.expectMsg(isOutbound)).toMatchObject({ senderId: firstSend.senderId, deliveryId: 1, attempt: 1, confirmationToken: firstSend.confirmationToken });
    expect(await reports2.expectMsgType(Confirmed)).toEqual(new Confirmed(1, 0));
    expect(fake.startCount).toBe(2); // started once per system
  });

  it('a confirmation for another persistenceId does not confirm anything here', async () => {
    const fake = new FakeTransport();
    const system = systems.start('transport-other', stores(), { transports: [fake] });
    const reports = TestProbe.create(system, 'reports');
    const sends = TestProbe.create(system, 'sends');
    fake.sends = sends.ref;
    const sender = startSender(system, { persistenceId: 'mine', destination: orders, reports: reports.ref, settings: { redeliverInterval: 60_000 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    const delivery = await sends.expectMsg<OutboundDelivery>(isOutbound);
    fake.confirmFor('someone-else', delivery.deliveryId);
    await reports.expectNoMessage(100);
    expect((await sender.ask<SenderState>({ type: 'state' })).unconfirmed).toBe(1);
  });

  // `throw` breaks the promise contract; it must still count as a failed attempt, not stop the sender.
  // Two failing attempts: the first starts the transport, the second goes straight to it.
  it.each([
    ['reject', 'broker refused delivery 1'],
    ['throw', 'transport threw for delivery 1'],
  ] as const)('a transport that fails (%s) leaves the delivery unconfirmed with lastError set, and it is sent again', async (behaviour, lastError) => {
    const fake = new FakeTransport();
    fake.behaviour = behaviour;
    const system = systems.start(`transport-${behaviour}`, stores(), { transports: [fake] });
    const reports = TestProbe.create(system, 'reports');
    const sends = TestProbe.create(system, 'sends');
    fake.sends = sends.ref;
    const sender = startSender(system, { persistenceId: 'failing', destination: orders, reports: reports.ref, settings: { redeliverInterval: 100 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    expect(await sends.expectMsg(isOutbound)).toMatchObject({ deliveryId: 1, attempt: 1 });
    expect(await sends.expectMsg(isOutbound, 5000)).toMatchObject({ deliveryId: 1, attempt: 2 });
    await settleMicrotasks(); // the failure is recorded in a promise callback
    const state = await sender.ask<SenderState>({ type: 'state' });
    expect(state.deliveries).toHaveLength(1);
    expect(state.deliveries[0]).toMatchObject({ deliveryId: 1, lastError });
    fake.behaviour = 'confirm';
    expect(await sends.expectMsg(isOutbound, 5000)).toMatchObject({ deliveryId: 1, attempt: 3 });
    expect(await reports.expectMsgType(Confirmed)).toEqual(new Confirmed(1, 0));
  });
});
