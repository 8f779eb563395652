/**
 * Cancelling an in-flight delivery (Outbox.cancel): persisted, it is never sent again — not by the
 * redelivery tick, not after a restart that replays the events, not from a snapshot — and its status
 * says `cancelled`; what is not in flight is left alone and its status answered. Cancelling a dead
 * letter (Outbox.cancelDeadLetter) likewise, and against a redrive of it exactly one wins. And the
 * pages of listInFlight / listDeadLetters, by delivery id.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryConfirmed, DeliveryEnvelope, InvalidOptionError, Outbox, type ActorSystem, type OutboxEvent, type OutboxOptions } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { observedStores, replayedFrom, settleMicrotasks, systemsWithClock, type ManualClock } from './support/delivery-fixtures.js';
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

describe('Outbox.cancelDeadLetter', () => {
  const options: OutboxOptions = { redeliverInterval: 100, deadLetterAfterAttempts: 1, snapshotEvery: 1000 };
  const deadLetter = (deliveryId: number) => ({ status: 'dead-lettered', deliveryId, reason: 'no confirmation after 1 attempts', attempts: 1, destination: '/user/receiver' });

  /** Sends `count` messages (ids 1..count, events 1..count) and lets each become a dead letter after its one attempt (events count+1..2 × count). */
  async function deadLetters(manual: ManualClock, system: ActorSystem, count: number, extra: OutboxOptions = {}): Promise<Outbox> {
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { ...options, ...extra });
    for (let n = 1; n <= count; n++) await outbox.send('/user/receiver', { n });
    await receiver.receiveN(count);
    manual.advance(100);
    const listed = Math.min(count, extra.maxDeadLetters ?? count);
    await eventually(
      () => outbox.deadLetters(),
      (dead) => dead.length === listed && dead.at(-1)?.deliveryId === count,
      10_000,
      `${listed} dead letters`,
    );
    return outbox;
  }

  it('removes a dead letter for good: status cancelled, not redriven, the same answer again, also after a restart from the events', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('dl-cancel-1', plugins);
    const outbox = await deadLetters(manual, first, 2);

    const stored = plugins.journal.stored(ofType('dead-letter-cancelled'));
    const cancelled = await outbox.cancelDeadLetter(1);
    expect(cancelled).toEqual({ status: 'cancelled', deliveryId: 1, attempts: 1, cancelledAt: expect.any(Number) });
    expect(await stored).toEqual({ type: 'dead-letter-cancelled', deliveryId: 1, at: cancelled.status === 'cancelled' ? cancelled.cancelledAt : 0 });
    expect((await outbox.deadLetters()).map((dead) => dead.deliveryId)).toEqual([2]);
    expect(await outbox.status(1)).toEqual(cancelled);
    expect(await outbox.stats()).toMatchObject({ deadLettered: 1, inFlight: 0 });
    await expect(outbox.redrive(1)).rejects.toMatchObject({ code: 'ERR_NOT_DEAD_LETTERED', deliveryId: 1 });
    // Idempotent, also through cancel(id): nothing more is written.
    expect(await outbox.cancelDeadLetter(1)).toEqual(cancelled);
    expect(await outbox.cancel(1)).toEqual(cancelled);
    expect((await plugins.journal.events('outbox')).filter(ofType('dead-letter-cancelled'))).toHaveLength(1);
    // Redrive all takes only the one left.
    expect(await outbox.redrive()).toEqual([2]);
    await first.terminate();

    const second = systems.start('dl-cancel-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, options);
    expect(await recovered.status(1)).toEqual(cancelled);
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([1]); // no snapshot: all events replayed
    expect(await recovered.deadLetters()).toEqual([]);
    expect((await recovered.inFlight()).map((d) => d.deliveryId)).toEqual([3]); // 2 redriven as 3
    await expect(recovered.redrive(1)).rejects.toMatchObject({ code: 'ERR_NOT_DEAD_LETTERED' });
    expect((await receiver2.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(3);
    await receiver2.expectNoMessage(50);
  });

  it('is kept in snapshots: recovered from one that covers the cancellation, it stays cancelled and is no dead letter', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('dl-cancel-snap-1', plugins);
    // Events: accepted 1, 2; dead-lettered 1, 2; the cancellation is event 5, the snapshot's.
    const outbox = await deadLetters(manual, first, 2, { snapshotEvery: 5 });
    const saved = plugins.snapshotStore.saved();
    const cancelled = await outbox.cancelDeadLetter(2);
    expect(await saved).toBe(5);
    await first.terminate();

    const second = systems.start('dl-cancel-snap-2', plugins);
    TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 5 });
    expect(await recovered.status(2)).toEqual(cancelled);
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([6]); // recovered from the snapshot
    expect((await recovered.deadLetters()).map((dead) => dead.deliveryId)).toEqual([1]);
    await expect(recovered.redrive(2)).rejects.toMatchObject({ code: 'ERR_NOT_DEAD_LETTERED' });
    expect(await recovered.cancelDeadLetter(2)).toEqual(cancelled);
  });

  it('changes nothing for what is not a dead letter (in flight, redriven, dropped, confirmed, unknown), and answers its status', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const system = systems.start('dl-cancel-other', plugins);
    // maxDeadLetters 2: the third dead letter drops the first.
    const outbox = await deadLetters(manual, system, 3, { maxDeadLetters: 2 });
    expect(await outbox.redrive(3)).toEqual([3]); // sent again as 4
    const receiver = TestProbe.create(system, 'receiver-2');
    await outbox.send('/user/receiver-2', { n: 5 });
    await receiver.expectMsg(isEnvelope);
    const confirmed = plugins.journal.stored(ofType('confirmed'));
    receiver.reply(new DeliveryConfirmed(5));
    await confirmed;
    await settleMicrotasks();

    expect(await outbox.cancelDeadLetter(1)).toMatchObject({ status: 'dropped', deliveryId: 1 });
    expect(await outbox.cancelDeadLetter(3)).toEqual({ status: 'redriven', deliveryId: 3, redrivenAs: 4 });
    expect(await outbox.cancelDeadLetter(4)).toMatchObject({ status: 'in-flight', deliveryId: 4 });
    expect(await outbox.cancelDeadLetter(5)).toEqual({ status: 'confirmed', deliveryId: 5 });
    expect(await outbox.cancelDeadLetter(9)).toEqual({ status: 'unknown', deliveryId: 9 });
    expect((await plugins.journal.events('outbox')).filter(ofType('dead-letter-cancelled'))).toEqual([]);
    expect(await outbox.status(2)).toEqual(deadLetter(2));
    expect((await outbox.inFlight()).map((d) => d.deliveryId)).toEqual([4]);
    // And cancel(id) still leaves a dead letter alone: it cancels deliveries in flight only.
    expect(await outbox.cancel(2)).toEqual(deadLetter(2));
    expect(() => outbox.cancelDeadLetter(2.5)).toThrow(InvalidOptionError);
  });

  it('against a redrive of the same dead letter, the first one asked wins, and still does after a restart', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('dl-cancel-race-1', plugins);
    const outbox = await deadLetters(manual, first, 2);
    // Asked together: the second reaches the outbox while the first one's event is being written.
    const [redriven, lateCancel] = await Promise.all([outbox.redrive(1), outbox.cancelDeadLetter(1)]);
    expect(redriven).toEqual([1]);
    expect(lateCancel).toEqual({ status: 'redriven', deliveryId: 1, redrivenAs: 3 });
    const [cancelled, lateRedrive] = await Promise.allSettled([outbox.cancelDeadLetter(2), outbox.redrive(2)]);
    expect(cancelled).toMatchObject({ status: 'fulfilled', value: { status: 'cancelled', deliveryId: 2 } });
    expect(lateRedrive).toMatchObject({ status: 'rejected', reason: { code: 'ERR_NOT_DEAD_LETTERED', deliveryId: 2 } });
    const answers = await Promise.all([1, 2].map((id) => outbox.status(id)));
    expect((await outbox.inFlight()).map((d) => d.deliveryId)).toEqual([3]);
    expect(await outbox.deadLetters()).toEqual([]);
    await first.terminate();

    const second = systems.start('dl-cancel-race-2', plugins);
    TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, options);
    expect(await Promise.all([1, 2].map((id) => recovered.status(id)))).toEqual(answers);
    expect((await recovered.inFlight()).map((d) => d.deliveryId)).toEqual([3]);
    expect(await recovered.deadLetters()).toEqual([]);
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
