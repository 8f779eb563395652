/**
 * The outbox's use of the opt-in extensions: after deadLetterAfterAttempts sends the delivery leaves
 * the in-flight set through a persisted `dead-lettered` event, is listed with its reason, survives a
 * restart, and a redrive sends it again under a new delivery id; redeliveryBackoff spaces attempts.
 * The monotonic clock is controlled (see ManualClock), so attempts happen exactly when the test moves it.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryConfirmed, DeliveryEnvelope, Outbox, type ActorSystem, type OutboxEvent } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { captureLogs } from '../persistence/support/harness.js';
import { FakeTransport, observedStores, replayedFrom, settleMicrotasks, systemsWithClock, type ManualClock, type ObservedStores } from './support/delivery-fixtures.js';

const { systems, installClock } = systemsWithClock();

const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;
const ofType = (type: OutboxEvent['type']) => (event: unknown) => (event as OutboxEvent)?.type === type;

describe('Outbox dead letters (deadLetterAfterAttempts)', () => {
  it('dead-letters after N attempts with its reason, keeps it across a restart, and redrives it under a new id', async () => {
    const manual = installClock();
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
    expect(await outbox.deadLetters()).toMatchObject([
      { deliveryId: 1, destination: '/user/receiver', payload: { n: 1 }, attempts: 3, reason: 'no confirmation after 3 attempts' },
    ]);
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
    expect(await recovered.status(1)).toEqual({ status: 'redriven', deliveryId: 1, redrivenAs: 2 }); // not "confirmed": 2 was
    expect(await recovered.stats()).toMatchObject({ accepted: 1, confirmed: 1, deadLettered: 0, inFlight: 0 });
    await expect(recovered.redrive(1)).rejects.toMatchObject({ code: 'ERR_NOT_DEAD_LETTERED', deliveryId: 1, message: 'delivery 1 is not dead-lettered' });
  });

  it("gives the transport's last error as the reason when the sends failed", async () => {
    const manual = installClock();
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

  it("waits for the last attempt's outcome before giving up, so a slow refusal is the reason", async () => {
    const manual = installClock();
    const fake = new FakeTransport();
    const plugins = observedStores();
    const system = systems.start('dead-slow', plugins, { transports: [fake] });
    const outbox = Outbox.start(system, { redeliverInterval: 100, deadLetterAfterAttempts: 1 });
    fake.behaviour = 'hold';
    await outbox.send({ transport: 'fake', topic: 'orders' }, { n: 1 });
    await expect.poll(() => fake.pending.length).toBe(1);
    fake.behaviour = 'record';
    await outbox.send({ transport: 'fake', topic: 'orders' }, { n: 2 });
    await expect.poll(() => fake.sent.length).toBe(2);
    // Both are due for a give-up; 2's attempt has its outcome, 1's destination has not answered yet.
    const secondGivenUp = plugins.journal.stored((event) => ofType('dead-lettered')(event) && (event as { deliveryId: number }).deliveryId === 2);
    manual.advance(300);
    expect(await secondGivenUp).toMatchObject({ deliveryId: 2, reason: 'no confirmation after 1 attempts' });
    expect(await outbox.status(1)).toMatchObject({ status: 'in-flight', attempts: 1 });
    const firstGivenUp = plugins.journal.stored(ofType('dead-lettered'));
    fake.pending[0]!.reject(new Error('HTTP 500 from the destination'));
    await settleMicrotasks();
    manual.advance(100);
    expect(await firstGivenUp).toMatchObject({ deliveryId: 1, attempts: 1, reason: 'HTTP 500 from the destination' });
    expect(fake.sent).toHaveLength(2);
  });

  it('gives up on an attempt whose transport never settles after a minute', async () => {
    const manual = installClock();
    const fake = new FakeTransport();
    fake.behaviour = 'hold';
    const plugins = observedStores();
    const system = systems.start('dead-hung', plugins, { transports: [fake] });
    const outbox = Outbox.start(system, { redeliverInterval: 100, deadLetterAfterAttempts: 1 });
    await outbox.send({ transport: 'fake', topic: 'orders' }, { n: 1 });
    await expect.poll(() => fake.pending.length).toBe(1);
    const deadLettered = plugins.journal.stored(ofType('dead-lettered'));
    manual.advance(59_000);
    await settleMicrotasks();
    expect(await outbox.status(1)).toMatchObject({ status: 'in-flight' });
    manual.advance(1_200);
    expect(await deadLettered).toMatchObject({ deliveryId: 1, attempts: 1, reason: 'no confirmation after 1 attempts' });
  });
});

describe('Outbox attempts across restarts', () => {
  it('keeps counting attempts after a restart, so deadLetterAfterAttempts holds; the dead letter is logged once, with its reason', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const logs = captureLogs();
    const start = (name: string) => {
      const fake = new FakeTransport();
      const system = systems.start(name, plugins, { transports: [fake], logger: logs.logger });
      return { fake, outbox: Outbox.start(system, { redeliverInterval: 100, deadLetterAfterAttempts: 4 }) };
    };
    const first = start('attempts-1');
    await first.outbox.send({ transport: 'fake', topic: 'orders' }, { n: 1 });
    const secondAttempt = plugins.journal.stored(ofType('attempted'));
    manual.advance(100);
    expect(await secondAttempt).toEqual({ type: 'attempted', attempts: [[1, 2]] });
    const thirdAttempt = plugins.journal.stored(ofType('attempted'));
    manual.advance(200);
    expect(await thirdAttempt).toEqual({ type: 'attempted', attempts: [[1, 3]] });
    expect(first.fake.sent.map((d) => d.attempt)).toEqual([1, 2, 3]);
    await systems.terminateAll();

    // The new incarnation sends it once more, as attempt 4 (not 1), and then gives it up.
    const second = start('attempts-2');
    await expect.poll(() => second.fake.sent.map((d) => d.attempt)).toEqual([4]);
    expect((await second.outbox.inFlight())[0]).toMatchObject({ deliveryId: 1, attempt: 4 });
    const deadLettered = plugins.journal.stored(ofType('dead-lettered'));
    manual.advance(1000);
    expect(await deadLettered).toMatchObject({ deliveryId: 1, attempts: 4 });
    expect(second.fake.sent.map((d) => d.attempt)).toEqual([4]);
    await systems.terminateAll();

    // A third start replays the dead letter: it is not logged again.
    const third = start('attempts-3');
    expect((await third.outbox.deadLetters()).map((d) => d.attempts)).toEqual([4]);
    const lines = logs.lines.filter((line) => /dead-lettered after/.test(String(line.msg)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ deliveryId: 1, attempts: 4, reason: 'no confirmation after 4 attempts' });
  });
});

describe('Outbox redeliveryBackoff', () => {
  it('spaces attempts redeliverInterval × 2^(attempt-1) apart', async () => {
    const manual = installClock();
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

describe('Outbox.status of former dead letters', () => {
  const options = { redeliverInterval: 100, deadLetterAfterAttempts: 1, maxDeadLetters: 2, snapshotEvery: 7 };
  const dropped = (deliveryId: number) => ({ status: 'dropped', deliveryId, reason: 'no confirmation after 1 attempts', attempts: 1, destination: '/user/receiver' });
  const deadLettered = (deliveryId: number) => ({ status: 'dead-lettered', deliveryId, reason: 'no confirmation after 1 attempts', attempts: 1, destination: '/user/receiver' });

  /**
   * Three deliveries dead-lettered after one attempt each; with maxDeadLetters 2 the first is dropped
   * when the third becomes a dead letter; then the third is redriven as id 4. Events 1-7, snapshot at 7.
   */
  async function dropOneRedriveOne(manual: ManualClock, plugins: ObservedStores, system: ActorSystem, receiver: TestProbe, name: string): Promise<Outbox> {
    const outbox = Outbox.start(system, { ...options, name });
    for (let n = 1; n <= 3; n++) await outbox.send('/user/receiver', { n });
    await receiver.receiveN(3);
    const thirdDeadLettered = plugins.journal.stored((event) => ofType('dead-lettered')(event) && (event as { deliveryId: number }).deliveryId === 3);
    manual.advance(100);
    await thirdDeadLettered;
    await settleMicrotasks();
    expect((await outbox.deadLetters()).map((dead) => dead.deliveryId)).toEqual([2, 3]);
    const saved = plugins.snapshotStore.saved();
    expect(await outbox.redrive(3)).toEqual([3]);
    expect(await saved).toBe(7);
    expect(await receiver.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope(name, 4, { n: 3 }));
    return outbox;
  }

  it('says redriven (with the new id) or dropped instead of confirmed, also after recovering from a snapshot', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('former-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = await dropOneRedriveOne(manual, plugins, first, receiver, 'outbox');
    expect(await outbox.status(1)).toEqual(dropped(1));
    expect(await outbox.status(3)).toEqual({ status: 'redriven', deliveryId: 3, redrivenAs: 4 });
    const confirmed = plugins.journal.stored(ofType('confirmed'));
    receiver.reply(new DeliveryConfirmed(4)); // event 8
    await confirmed;
    await settleMicrotasks();
    await first.terminate();

    const second = systems.start('former-2', plugins);
    TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, options);
    const statuses = await Promise.all([1, 2, 3, 4, 5].map((id) => recovered.status(id)));
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([8]); // the record came from the snapshot
    expect(statuses).toEqual([
      dropped(1),
      deadLettered(2),
      { status: 'redriven', deliveryId: 3, redrivenAs: 4 },
      { status: 'confirmed', deliveryId: 4 },
      { status: 'unknown', deliveryId: 5 },
    ]);

    // A third former dead letter pushes the oldest record out (maxDeadLetters 2): that id is no
    // longer known, and is not claimed confirmed; later ids still are.
    expect(await recovered.redrive(2)).toEqual([2]);
    expect(await Promise.all([1, 2, 4].map((id) => recovered.status(id)))).toEqual([
      { status: 'forgotten', deliveryId: 1 },
      { status: 'redriven', deliveryId: 2, redrivenAs: 5 },
      { status: 'confirmed', deliveryId: 4 },
    ]);
  });

  it('loads an older snapshot without the record: exact when its counts leave no former dead letters, else forgotten rather than confirmed', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const first = systems.start('older-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    // Only a confirmation before its snapshot: counter 2 = 1 in flight + 1 confirmed.
    const plain = Outbox.start(first, { name: 'plain', redeliverInterval: 60_000, snapshotEvery: 3 });
    await plain.send('/user/receiver', { n: 1 });
    await plain.send('/user/receiver', { n: 2 });
    await receiver.receiveN(2);
    const saved = plugins.snapshotStore.saved();
    receiver.reply(new DeliveryConfirmed(1));
    expect(await saved).toBe(3);
    await dropOneRedriveOne(manual, plugins, first, receiver, 'former');
    await first.terminate();
    for (const persistenceId of ['plain', 'former']) {
      await plugins.snapshotStore.rewriteLatest(persistenceId, ({ formerDeadLetters, outcomesForgottenUpTo, ...older }) => older);
    }

    const second = systems.start('older-2', plugins);
    TestProbe.create(second, 'receiver');
    const plainAgain = Outbox.start(second, { name: 'plain', redeliverInterval: 60_000, snapshotEvery: 3 });
    const formerAgain = Outbox.start(second, { ...options, name: 'former' });
    expect(await Promise.all([1, 2].map((id) => plainAgain.status(id)))).toMatchObject([
      { status: 'confirmed', deliveryId: 1 },
      { status: 'in-flight', deliveryId: 2 },
    ]);
    expect(await Promise.all([1, 2, 3, 4].map((id) => formerAgain.status(id)))).toMatchObject([
      { status: 'forgotten', deliveryId: 1 },
      deadLettered(2),
      { status: 'forgotten', deliveryId: 3 },
      { status: 'in-flight', deliveryId: 4 },
    ]);
  });
});
