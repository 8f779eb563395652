/**
 * The opt-in extensions beyond Akka on the actor itself (the outbox's use of them is in
 * outbox-dead-letters.test.ts): exponential redelivery backoff and the hand-off after N attempts.
 * The monotonic clock is controlled, so the schedule is checked exactly, whatever the machine's load.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryAttemptsExhausted } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { Recovered, TickBatches, isPayload, startSender, stores, systemsWithClock, type SenderState } from './support/delivery-fixtures.js';

const { systems, installClock } = systemsWithClock();

describe('opt-in redeliveryBackoff', () => {
  it('waits redeliverInterval × 2^(attempt-1) between attempts, capped at maxInterval', async () => {
    const manual = installClock();
    const system = systems.start('backoff', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'backoff',
      destination: destination.ref,
      reports: reports.ref,
      ticks: destination.ref,
      settings: { redeliverInterval: 100, redeliveryBackoff: { maxInterval: 1000, randomFactor: 0 }, warnAfterNumberOfUnconfirmedAttempts: 100 },
    });
    await reports.expectMsgType(Recovered);
    const batches = new TickBatches(destination);
    sender.tell({ type: 'send', text: 'a' });
    await destination.fishForMessage(isPayload);
    // Gap before attempt 2, 3, 4, 5, 6: 100, 200, 400, 800, then the cap of 1000.
    for (const gap of [100, 200, 400, 800, 1000]) {
      manual.advance(gap - 1);
      expect(await batches.next()).toEqual([]);
      expect(await batches.next()).toEqual([]);
      manual.advance(1);
      expect(await batches.nextNonEmpty()).toEqual([1]);
    }
    expect((await sender.ask<SenderState>({ type: 'state' })).deliveries[0]!.attempt).toBe(6);
  });

  it('without it, the gap stays redeliverInterval (Akka semantics by default)', async () => {
    const manual = installClock();
    const system = systems.start('fixed', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const sender = startSender(system, {
      persistenceId: 'fixed',
      destination: destination.ref,
      reports: reports.ref,
      ticks: destination.ref,
      settings: { redeliverInterval: 100 },
    });
    await reports.expectMsgType(Recovered);
    const batches = new TickBatches(destination);
    sender.tell({ type: 'send', text: 'a' });
    await destination.fishForMessage(isPayload);
    for (let attempt = 2; attempt <= 4; attempt++) {
      manual.advance(100);
      expect(await batches.nextNonEmpty()).toEqual([1]);
    }
  });
});

describe('opt-in deadLetterAfterAttempts', () => {
  it('hands a delivery to the actor as DeliveryAttemptsExhausted after N sends and sends it no more', async () => {
    const manual = installClock();
    const system = systems.start('exhausted', stores());
    const reports = TestProbe.create(system, 'reports');
    const destination = TestProbe.create(system, 'destination');
    const ticks = TestProbe.create(system, 'ticks');
    const sender = startSender(system, {
      persistenceId: 'exhausted',
      destination: destination.ref,
      reports: reports.ref,
      ticks: ticks.ref,
      settings: { redeliverInterval: 100, deadLetterAfterAttempts: 3 },
    });
    await reports.expectMsgType(Recovered);
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    expect(await destination.receiveN(2)).toEqual([
      { id: 1, text: 'a' },
      { id: 2, text: 'b' },
    ]);
    for (let attempt = 2; attempt <= 3; attempt++) {
      manual.advance(100);
      expect(await destination.receiveN(2)).toEqual([
        { id: 1, text: 'a' },
        { id: 2, text: 'b' },
      ]);
    }
    manual.advance(100);
    const exhausted = await reports.expectMsgType(DeliveryAttemptsExhausted);
    expect(exhausted.deliveries.map((d) => [d.deliveryId, d.attempt, d.message])).toEqual([
      [1, 3, { id: 1, text: 'a' }],
      [2, 3, { id: 2, text: 'b' }],
    ]);
    // The sender persisted that it gives them up: nothing is unconfirmed, nothing is sent, no timer runs.
    expect(await sender.ask<SenderState>({ type: 'state' })).toMatchObject({ unconfirmed: 0, currentDeliveryId: 2 });
    manual.advance(1000);
    ticks.ref.tell('sentinel');
    await ticks.fishForMessage((message) => message === 'sentinel');
    await ticks.expectNoMessage(200);
    await destination.expectNoMessage(100);
  });
});
