/**
 * AtLeastOnceDeliveryActor in one incarnation, in the spirit of Akka's AtLeastOnceDeliverySpec: ids,
 * loss and redelivery, the redelivery tick (age, order, burst limit), warnings, the unconfirmed limit,
 * unknown confirmations, the timer of an idle actor and the monotonic clock. Restarts and snapshots are
 * in at-least-once-recovery.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeliveryConfirmed, MaxUnconfirmedMessagesExceededError, UnconfirmedWarning } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import {
  Confirmed,
  LossyDestination,
  Recovered,
  Tick,
  TickBatches,
  isPayload,
  startSender,
  stores,
  systemsWithClock,
  type Payload,
  type SenderState,
} from './support/delivery-fixtures.js';

const { systems, installClock } = systemsWithClock();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('AtLeastOnceDeliveryActor: ids, loss and confirmation', () => {
  it('numbers deliveries 1, 2, 3 ... and never hands an id out twice, also after confirmations', async () => {
    const system = systems.start('ids', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, { persistenceId: 'ids', destination: destination.ref, reports: reports.ref, settings: { redeliverInterval: 60_000 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    expect(await destination.receiveN(2)).toEqual([
      { id: 1, text: 'a' },
      { id: 2, text: 'b' },
    ]);
    destination.lastSender.tell(new DeliveryConfirmed(2));
    expect(await reports.expectMsgType(Confirmed)).toEqual(new Confirmed(2, 1));
    // The highest id was confirmed: the next delivery must still not take it again.
    sender.tell({ type: 'send', text: 'c' });
    expect(await destination.expectMsg(isPayload)).toEqual({ id: 3, text: 'c' });
    expect(await sender.ask<SenderState>({ type: 'state' })).toMatchObject({ currentDeliveryId: 3, unconfirmed: 2 });
  });

  it('redelivers messages a destination lost until they are confirmed, then stops sending them', async () => {
    const system = systems.start('lossy', stores());
    const reports = TestProbe.create(system, 'reports');
    const seen = TestProbe.create(system, 'seen');
    // Loses the first three messages: the first sends of 1 and 2 and the first redelivery of 1.
    const destination = system.actorOf(() => new LossyDestination(3, seen.ref), 'destination');
    const sender = startSender(system, { persistenceId: 'lossy', destination, reports: reports.ref, settings: { redeliverInterval: 100 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    const confirmed = [await reports.expectMsgType(Confirmed, 5000), await reports.expectMsgType(Confirmed, 5000)];
    expect(confirmed.map((c) => c.deliveryId).sort()).toEqual([1, 2]);
    expect(confirmed[1]!.unconfirmedLeft).toBe(0);
    const applied = (await seen.receiveN(2)) as Payload[];
    expect(applied.map((p) => p.text).sort()).toEqual(['a', 'b']);
    // Confirmed deliveries are not sent again (ten redelivery intervals).
    await seen.expectNoMessage(1000);
    const state = await sender.ask<SenderState>({ type: 'state' });
    expect(state).toMatchObject({ unconfirmed: 0, currentDeliveryId: 2 });
  });

  it('confirmDelivery of an unknown or already confirmed id returns false and changes nothing', async () => {
    const system = systems.start('unknown', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, { persistenceId: 'unknown', destination: destination.ref, reports: reports.ref, settings: { redeliverInterval: 60_000 } });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    await destination.receiveN(2);
    const before = await sender.ask<SenderState>({ type: 'state' });
    expect(await sender.ask({ type: 'confirm-directly', id: 99 })).toBe(false);
    expect(await sender.ask({ type: 'confirm-directly', id: 0 })).toBe(false);
    expect(await sender.ask<SenderState>({ type: 'state' })).toEqual(before);
    expect(await sender.ask({ type: 'confirm-directly', id: 1 })).toBe(true);
    expect(await sender.ask({ type: 'confirm-directly', id: 1 })).toBe(false);
    const after = await sender.ask<SenderState>({ type: 'state' });
    expect(after.deliveries.map((d) => d.deliveryId)).toEqual([2]);
    expect(after.currentDeliveryId).toBe(2);
  });
});

describe('AtLeastOnceDeliveryActor: the redelivery tick', () => {
  it('sends only deliveries older than redeliverInterval, oldest first, at most redeliveryBurstLimit per tick', async () => {
    const clock = installClock();
    const system = systems.start('burst', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'burst',
      destination: destination.ref,
      reports: reports.ref,
      ticks: destination.ref,
      settings: { redeliverInterval: 200, redeliveryBurstLimit: 3, warnAfterNumberOfUnconfirmedAttempts: 100 },
    });
    await reports.expectMsgType(Recovered);
    const batches = new TickBatches(destination);
    const firstSends = async (n: number): Promise<number[]> => {
      const ids: number[] = [];
      while (ids.length < n) {
        const message = await destination.expectMsg<unknown>(() => true);
        if (message instanceof Tick) continue; // nothing is due while the clock stands still
        ids.push((message as Payload).id);
      }
      return ids;
    };
    for (let i = 1; i <= 5; i++) sender.tell({ type: 'send', text: `early-${i}` });
    expect(await firstSends(5)).toEqual([1, 2, 3, 4, 5]);
    clock.advance(100);
    for (let i = 6; i <= 10; i++) sender.tell({ type: 'send', text: `late-${i}` });
    expect(await firstSends(5)).toEqual([6, 7, 8, 9, 10]);

    // 250 ms after the early sends, 150 ms after the late ones: only 1..5 are due, three per tick.
    clock.advance(150);
    expect(await batches.nextNonEmpty()).toEqual([1, 2, 3]);
    expect(await batches.next()).toEqual([4, 5]);
    expect(await batches.next()).toEqual([]);

    // 320 ms after the early sends: 6..10 are due now, 1..5 (resent at 250) not yet.
    clock.advance(70);
    expect(await batches.nextNonEmpty()).toEqual([6, 7, 8]);
    expect(await batches.next()).toEqual([9, 10]);
    expect(await batches.next()).toEqual([]);

    // 470: 1..5 (due at 450) again, 6..10 (due at 520) not yet.
    clock.advance(150);
    expect(await batches.nextNonEmpty()).toEqual([1, 2, 3]);
    expect(await batches.next()).toEqual([4, 5]);
    expect(await batches.next()).toEqual([]);
  });

  it('warns with UnconfirmedWarning once a delivery reached warnAfterNumberOfUnconfirmedAttempts sends, once per delivery', async () => {
    const clock = installClock();
    const system = systems.start('warn', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'warn',
      destination: destination.ref,
      reports: reports.ref,
      ticks: destination.ref,
      settings: { redeliverInterval: 100, warnAfterNumberOfUnconfirmedAttempts: 3 },
    });
    await reports.expectMsgType(Recovered);
    const batches = new TickBatches(destination);
    sender.tell({ type: 'send', text: 'x' });
    await destination.fishForMessage(isPayload);
    // y half an interval behind x, so their attempts alternate tick by tick.
    clock.advance(50);
    sender.tell({ type: 'send', text: 'y' });
    await destination.fishForMessage(isPayload);
    const manual = clock;
    const step = async (expected: number[]): Promise<void> => {
      manual.advance(50);
      expect(await batches.nextNonEmpty()).toEqual(expected);
    };
    await step([1]); // x attempt 2
    await step([2]); // y attempt 2
    await reports.expectNoMessage(50);
    await step([1]); // x attempt 3: warns
    const warning = await reports.expectMsgType(UnconfirmedWarning);
    expect(warning.unconfirmedDeliveries).toEqual([{ deliveryId: 1, destination: destination.ref.path, message: { id: 1, text: 'x' }, attempt: 3 }]);
    await step([2]); // y attempt 3: warns about y only
    const second = await reports.expectMsgType(UnconfirmedWarning);
    expect(second.unconfirmedDeliveries.map((d) => [d.deliveryId, d.attempt])).toEqual([[2, 3]]);
    await step([1]); // x attempt 4: no second warning
    await step([2]);
    await reports.expectNoMessage(100);
  });

  it('throws MaxUnconfirmedMessagesExceededError past maxUnconfirmedMessages without touching the state', async () => {
    const system = systems.start('max', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'max',
      destination: destination.ref,
      reports: reports.ref,
      settings: { redeliverInterval: 60_000, maxUnconfirmedMessages: 2 },
    });
    await reports.expectMsgType(Recovered);
    expect(await sender.ask({ type: 'deliver', text: 'a' })).toBe(1);
    expect(await sender.ask({ type: 'deliver', text: 'b' })).toBe(2);
    const before = await sender.ask<SenderState>({ type: 'state' });
    const refused = sender.ask({ type: 'deliver', text: 'c' });
    await expect(refused).rejects.toBeInstanceOf(MaxUnconfirmedMessagesExceededError);
    await expect(refused).rejects.toMatchObject({ maxUnconfirmedMessages: 2, persistenceId: 'max' });
    expect(await sender.ask<SenderState>({ type: 'state' })).toEqual(before);
    await destination.receiveN(2);
    await destination.expectNoMessage(100); // "c" was not sent
    expect(await sender.ask({ type: 'confirm-directly', id: 1 })).toBe(true);
    // Room again; the refused attempt consumed no id.
    expect(await sender.ask({ type: 'deliver', text: 'd' })).toBe(3);
  });
});

describe('AtLeastOnceDeliveryActor: timer and clock', () => {
  it('runs no redelivery timer while nothing is unconfirmed', async () => {
    const system = systems.start('idle', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const ticks = TestProbe.create(system, 'ticks');
    // Ticks would come every 10 ms if the timer ran.
    const sender = startSender(system, { persistenceId: 'idle', destination: destination.ref, reports: reports.ref, ticks: ticks.ref, settings: { redeliverInterval: 20 } });
    await reports.expectMsgType(Recovered);
    await ticks.expectNoMessage(300);

    sender.tell({ type: 'send', text: 'a' });
    await destination.expectMsg(isPayload);
    await ticks.expectMsgType(Tick, 2000); // the timer runs while 1 is unconfirmed
    destination.lastSender.tell(new DeliveryConfirmed(1));
    await reports.expectMsgType(Confirmed);
    // Markers of ticks before the confirmation may still be queued: a sentinel told now comes after them.
    ticks.ref.tell('sentinel');
    await ticks.fishForMessage((message) => message === 'sentinel');
    await ticks.expectNoMessage(300);
  });

  it('follows the monotonic clock: a wall-clock jump of +1 h causes no redelivery storm, -1 h no stall', async () => {
    const clock = installClock();
    const wall = vi.spyOn(Date, 'now');
    const realNow = Date.now();
    wall.mockImplementation(() => realNow);
    const system = systems.start('clock', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'clock',
      destination: destination.ref,
      reports: reports.ref,
      ticks: destination.ref,
      settings: { redeliverInterval: 100 },
    });
    await reports.expectMsgType(Recovered);
    const batches = new TickBatches(destination);
    sender.tell({ type: 'send', text: 'a' });
    await destination.fishForMessage(isPayload);

    wall.mockImplementation(() => realNow + 3_600_000);
    // An hour later by the wall clock, no time by the monotonic one: several ticks, no sends.
    for (let i = 0; i < 3; i++) expect(await batches.next()).toEqual([]);
    clock.advance(100);
    expect(await batches.nextNonEmpty()).toEqual([1]);

    wall.mockImplementation(() => realNow - 3_600_000);
    for (let i = 0; i < 2; i++) expect(await batches.next()).toEqual([]);
    // Back an hour by the wall clock: the next interval still brings the redelivery.
    clock.advance(100);
    expect(await batches.nextNonEmpty()).toEqual([1]);
    expect((await sender.ask<SenderState>({ type: 'state' })).deliveries[0]!.attempt).toBe(3);
  });
});
