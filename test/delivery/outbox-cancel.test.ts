/**
 * Cancelling an in-flight delivery (Outbox.cancel): persisted, it is never sent again — not by the
 * redelivery tick, not after a restart that replays the events, not from a snapshot — and its status
 * says `cancelled`; what is not in flight is left alone and its status answered. And the pages of
 * listInFlight / listDeadLetters, by delivery id.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryConfirmed, DeliveryEnvelope, InvalidOptionError, Outbox, type OutboxEvent } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { observedStores, replayedFrom, settleMicrotasks, systemsWithClock } from './support/delivery-fixtures.js';
import { eventually } from '../support/eventually.js';

const { systems, installClock } = systemsWithClock();

const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;
const ofType = (type: OutboxEvent['type']) => (event: unknown) => (event as OutboxEvent)?.type === type;

describe('Outbox.cancel', () => {
  it('forgets an in-flight delivery for good: no redelivery, also not after a restart', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('cancel-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 100 });
    await outbox.send('/user/receiver', { n: 1 });
    await outbox.send('/user/receiver', { n: 2 });
    await receiver.receiveN(2);

    const stored = plugins.journal.stored(ofType('cancelled'));
    const cancelled = await outbox.cancel(1);
    expect(cancelled).toEqual({ status: 'cancelled', deliveryId: 1, attempts: 1, cancelledAt: expect.any(Number) });
    expect(await stored).toMatchObject({ type: 'cancelled', deliveryId: 1 });
    expect((await outbox.inFlight()).map((d) => d.deliveryId)).toEqual([2]);
    manual.advance(100);
    // Only delivery 2 is sent again.
    expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(2);
    await receiver.expectNoMessage(50);
    // Cancelling again answers the same: a retried DELETE is harmless.
    expect(await outbox.cancel(1)).toEqual(cancelled);
    await first.terminate();

    const second = systems.start('cancel-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 100 });
    expect((await receiver2.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(2);
    await receiver2.expectNoMessage(50);
    expect(await recovered.status(1)).toEqual(cancelled);
    expect((await recovered.inFlight()).map((d) => d.deliveryId)).toEqual([2]);
  });

  it('is kept in snapshots: a delivery cancelled before the snapshot is not sent from it, and its status survives', async () => {
    installClock();
    const plugins = observedStores();
    const first = systems.start('cancel-snap-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 3 });
    await outbox.send('/user/receiver', { n: 1 });
    await outbox.send('/user/receiver', { n: 2 });
    await receiver.receiveN(2);
    const saved = plugins.snapshotStore.saved();
    await outbox.cancel(2); // event 3: the snapshot covers it
    expect(await saved).toBe(3);
    await first.terminate();

    const second = systems.start('cancel-snap-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, { redeliverInterval: 60_000, snapshotEvery: 3 });
    expect(await receiver2.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope('outbox', 1, { n: 1 }));
    await receiver2.expectNoMessage(50);
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([4]); // recovered from the snapshot
    expect(await recovered.status(2)).toMatchObject({ status: 'cancelled', deliveryId: 2 });
  });

  it('changes nothing for a delivery that is not in flight, and answers its status', async () => {
    installClock();
    const plugins = observedStores();
    const system = systems.start('cancel-other', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    await outbox.send('/user/receiver', { n: 1 });
    await receiver.expectMsg(isEnvelope);
    const confirmed = plugins.journal.stored(ofType('confirmed'));
    receiver.reply(new DeliveryConfirmed(1));
    await confirmed;
    await settleMicrotasks();
    expect(await outbox.cancel(1)).toEqual({ status: 'confirmed', deliveryId: 1 });
    expect(await outbox.cancel(7)).toEqual({ status: 'unknown', deliveryId: 7 });
    expect(await outbox.status(1)).toEqual({ status: 'confirmed', deliveryId: 1 });
    expect((await plugins.journal.events('outbox')).filter(ofType('cancelled'))).toEqual([]);
    expect(() => outbox.cancel(1.5)).toThrow(InvalidOptionError);
  });
});

describe('Outbox pages', () => {
  it('lists in-flight deliveries and dead letters after a delivery id, a page at a time', async () => {
    const manual = installClock();
    const system = systems.start('pages', observedStores());
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 100, deadLetterAfterAttempts: 1 });
    for (let n = 1; n <= 5; n++) await outbox.send('/user/receiver', { n });
    await receiver.receiveN(5);
    const first = await outbox.listInFlight({ limit: 2 });
    expect(first.items.map((d) => d.deliveryId)).toEqual([1, 2]);
    expect(first).toMatchObject({ total: 5, nextAfter: 2 });
    const second = await outbox.listInFlight({ after: 2, limit: 2 });
    expect(second.items.map((d) => d.deliveryId)).toEqual([3, 4]);
    const last = await outbox.listInFlight({ after: 4, limit: 2 });
    expect(last.items.map((d) => d.deliveryId)).toEqual([5]);
    expect(last.nextAfter).toBeUndefined();
    expect(() => outbox.listInFlight({ limit: 10_001 })).toThrow(/from 1 to 10000/);

    manual.advance(100); // each had its one attempt: all become dead letters
    await eventually(
      () => outbox.listDeadLetters(),
      (page) => page.total === 5,
      10_000,
      'five dead letters',
    );
    const dead = await outbox.listDeadLetters({ after: 3, limit: 10 });
    expect(dead.items.map((d) => d.deliveryId)).toEqual([4, 5]);
    expect(dead.nextAfter).toBeUndefined();
  });
});
