/**
 * The outbox's use of the opt-in extensions: after deadLetterAfterAttempts sends the delivery leaves
 * the in-flight set through a persisted `dead-lettered` event, is listed with its reason, survives a
 * restart, and a redrive sends it again under a new delivery id; redeliveryBackoff spaces attempts.
 * The monotonic clock is controlled (see ManualClock), so attempts happen exactly when the test moves it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryConfirmed, DeliveryEnvelope, Outbox, type OutboxEvent } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { FakeTransport, ManualClock, Systems, observedStores, settleMicrotasks } from './support/delivery-fixtures.js';

const systems = new Systems();
let clock: ManualClock | undefined;
afterEach(async () => {
  await systems.terminateAll();
  clock?.restore();
  clock = undefined;
});

const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;
const ofType = (type: OutboxEvent['type']) => (event: unknown) => (event as OutboxEvent)?.type === type;

describe('Outbox dead letters (deadLetterAfterAttempts)', () => {
  it('dead-letters after N attempts with its reason, keeps it across a restart, and redrives it under a new id', async () => {
    const manual = (clock = ManualClock.install());
    const plugins = observedStores();
    const first = systems.start('dead-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 100, deadLetterAfterAttempts: 3 });
    const { deliveryId } = await outbox.send('/user/receiver', { n: 1 });
    expect(deliveryId).toBe(1);
    await receiver.expectMsg(isEnvelope);
    for (let attempt = 2; attempt <= 3; attempt++) {
      manual.advance(100);
      expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(1);
    }
    const deadLettered = plugins.journal.stored(ofType('dead-lettered'));
    manual.advance(100);
    expect(await deadLettered).toMatchObject({ type: 'dead-lettered', deliveryId: 1, attempts: 3, reason: 'no confirmation after 3 attempts' });
    await settleMicrotasks();
    expect(await outbox.deadLetters()).toMatchObject([{ deliveryId: 1, destination: '/user/receiver', payload: { n: 1 }, attempts: 3, reason: 'no confirmation after 3 attempts' }]);
    expect(await outbox.status(1)).toEqual({ status: 'dead-lettered', deliveryId: 1, reason: 'no confirmation after 3 attempts', attempts: 3, destination: '/user/receiver' });
    expect(await outbox.inFlight()).toEqual([]);
    manual.advance(1000);
    await receiver.expectNoMessage(100); // no fourth attempt
    await first.terminate();

    // The hand-off was persisted: a restart neither resends it nor forgets it.
    const second = systems.start('dead-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 100, deadLetterAfterAttempts: 3 });
    expect((await recovered.deadLetters()).map((d) => d.deliveryId)).toEqual([1]);
    expect(await recovered.inFlight()).toEqual([]);
    await receiver2.expectNoMessage(100);

    expect(await recovered.redrive(1)).toEqual([1]);
    // A new id, so a receiver that deduplicates by (sender, id) applies it.
    expect(await receiver2.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope('outbox', 2, { n: 1 }));
    expect(await recovered.deadLetters()).toEqual([]);
    const confirmed = plugins.journal.stored(ofType('confirmed'));
    receiver2.reply(new DeliveryConfirmed(2));
    await confirmed;
    await settleMicrotasks();
    expect(await recovered.status(2)).toEqual({ status: 'confirmed', deliveryId: 2 });
    expect(await recovered.stats()).toMatchObject({ accepted: 1, confirmed: 1, deadLettered: 0, inFlight: 0 });
    await expect(recovered.redrive(1)).rejects.toMatchObject({ code: 'ERR_NOT_DEAD_LETTERED', deliveryId: 1, message: 'delivery 1 is not dead-lettered' });
  });

  it('gives the transport\'s last error as the reason when the sends failed', async () => {
    const manual = (clock = ManualClock.install());
    const fake = new FakeTransport();
    fake.behaviour = 'reject';
    const plugins = observedStores();
    const system = systems.start('dead-reason', plugins, { transports: [fake] });
    const sends = TestProbe.create(system, 'sends');
    fake.sends = sends.ref;
    const outbox = Outbox.start(system, { redeliverInterval: 100, deadLetterAfterAttempts: 2 });
    await outbox.send({ transport: 'fake', topic: 'orders' }, { n: 1 });
    await sends.expectMsg((m) => (m as { attempt: number }).attempt === 1);
    manual.advance(100);
    await sends.expectMsg((m) => (m as { attempt: number }).attempt === 2);
    await settleMicrotasks(); // the rejection of attempt 2 is recorded as lastError
    const deadLettered = plugins.journal.stored(ofType('dead-lettered'));
    manual.advance(100);
    expect(await deadLettered).toMatchObject({ deliveryId: 1, attempts: 2, reason: 'broker refused delivery 1' });
    expect(fake.sent.map((d) => d.attempt)).toEqual([1, 2]);
  });
});

describe('Outbox redeliveryBackoff', () => {
  it('spaces attempts redeliverInterval × 2^(attempt-1) apart', async () => {
    const manual = (clock = ManualClock.install());
    const system = systems.start('backoff', observedStores());
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 100, redeliveryBackoff: { maxInterval: 10_000, randomFactor: 0 } });
    await outbox.send('/user/receiver', { n: 1 });
    await receiver.expectMsg(isEnvelope);
    for (const gap of [100, 200, 400]) {
      manual.advance(gap - 1);
      await receiver.expectNoMessage(150); // at least two ticks (every 50 ms) see it not yet due
      manual.advance(1);
      expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(1);
    }
    expect((await outbox.inFlight())[0]!.attempt).toBe(4);
  });
});
