/**
 * The durable Outbox: send resolves once the message is in the journal, delivery and redelivery to
 * an actor path, in-flight inspection and status, idempotency keys (concurrent and across a restart),
 * snapshots every N events, recovery from them, and deletion of the events they cover. Every wait is
 * on an event (a probe message, a journal write, a snapshot save), never on a poll.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { confirmedIdsOf, DeliveryConfirmed, DeliveryEnvelope, Outbox, SnapshotSelectionCriteria, type OutboxEvent, type PersistentRepr } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { Systems, isConfirmed, observedStores, replayedFrom, settleMicrotasks } from './support/delivery-fixtures.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;
const confirmedEvent = (deliveryId: number) => (event: unknown) => isConfirmed(event) && confirmedIdsOf(event).includes(deliveryId);

describe('Outbox.send', () => {
  it('resolves only once the accepted event is in the journal, and sends nothing before', async () => {
    const plugins = observedStores();
    const system = systems.start('durable', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    expect((await outbox.stats()).accepted).toBe(0); // recovered and idle

    const held = plugins.journal.holdWrites();
    let resolved = false;
    const sent = outbox.send('/user/receiver', { n: 1 }).then((accepted) => {
      resolved = true;
      return accepted;
    });
    await held.reached;
    await settleMicrotasks();
    expect(resolved).toBe(false);
    await receiver.expectNoMessage(100);

    held.release();
    expect(await sent).toEqual({ deliveryId: 1, duplicate: false });
    expect(await plugins.journal.events('outbox')).toMatchObject([{ type: 'accepted', destination: '/user/receiver', payload: { n: 1 } }]);
    const envelope = await receiver.expectMsg<DeliveryEnvelope>(isEnvelope);
    expect(envelope).toEqual(new DeliveryEnvelope('outbox', 1, { n: 1 }));
  });

  it('redelivers what the receiver lost, lists attempts and times while in flight, and persists the confirmation', async () => {
    const plugins = observedStores();
    const system = systems.start('redeliver', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 100 });
    const before = Date.now();
    const { deliveryId } = await outbox.send('/user/receiver', { n: 1 });
    expect(deliveryId).toBe(1);
    // The first copy is "lost" (not confirmed); the redelivery carries the same id.
    expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(1);
    expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope, 5000)).deliveryId).toBe(1);

    const [inFlight, ...rest] = await outbox.inFlight();
    expect(rest).toEqual([]);
    expect(inFlight).toMatchObject({ deliveryId: 1, destination: '/user/receiver', message: { n: 1 }, lastError: undefined, exhausted: false });
    expect(inFlight!.attempt).toBeGreaterThanOrEqual(2);
    expect(inFlight!.firstAttemptAt).toBeGreaterThanOrEqual(before);
    expect(inFlight!.lastAttemptAt).toBeGreaterThan(inFlight!.firstAttemptAt!);
    expect(inFlight!.lastAttemptAt).toBeLessThanOrEqual(Date.now());
    expect(await outbox.status(1)).toMatchObject({ status: 'in-flight', deliveryId: 1, destination: '/user/receiver' });

    const stored = plugins.journal.stored(confirmedEvent(1));
    receiver.reply(new DeliveryConfirmed(1));
    await stored;
    await settleMicrotasks();
    expect(await outbox.status(1)).toEqual({ status: 'confirmed', deliveryId: 1 });
    expect(await outbox.status(2)).toEqual({ status: 'unknown', deliveryId: 2 });
    expect(await outbox.inFlight()).toEqual([]);
    expect(await outbox.stats()).toMatchObject({ accepted: 1, confirmed: 1, inFlight: 0 });
    // Copies sent before the confirmation was applied may still be queued at the receiver (the outbox
    // tells synchronously, so they are ahead of a marker told now); after it, none may come.
    receiver.ref.tell('sentinel');
    await receiver.fishForMessage((message) => message === 'sentinel');
    await receiver.expectNoMessage(300); // three intervals: no more copies
  });

  it('writes the confirmations that arrive during a confirmation write as one event, and recovers them all', async () => {
    const plugins = observedStores();
    const first = systems.start('confirm-batch-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000 });
    for (let n = 1; n <= 5; n++) await outbox.send('/user/receiver', { n });
    expect(await receiver.receiveN(5)).toHaveLength(5);

    const firstWrite = plugins.journal.holdWrites();
    receiver.reply(new DeliveryConfirmed(1));
    await firstWrite.reached; // confirmation 1 is being written
    for (const id of [2, 3, 3, 4, 5]) receiver.reply(new DeliveryConfirmed(id));
    // Asked after the confirmations were told, answered after the outbox took them (persistAsync: it
    // answers while the write is held). One setImmediate was not enough on a loaded machine.
    expect(await outbox.stats()).toMatchObject({ confirmed: 0 });
    const all = plugins.journal.stored(confirmedEvent(5));
    firstWrite.release();
    await all;
    await settleMicrotasks();
    const confirmations = (await plugins.journal.events('outbox')).filter(isConfirmed);
    expect(confirmations).toEqual([
      { type: 'confirmed', deliveryIds: [1] },
      { type: 'confirmed', deliveryIds: [2, 3, 4, 5] },
    ]);
    expect(await outbox.stats()).toMatchObject({ accepted: 5, confirmed: 5, inFlight: 0 });
    await first.terminate();

    const second = systems.start('confirm-batch-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000 });
    expect(await recovered.stats()).toMatchObject({ accepted: 5, confirmed: 5, inFlight: 0 });
    expect(await recovered.status(4)).toEqual({ status: 'confirmed', deliveryId: 4 });
    await receiver2.expectNoMessage(100); // nothing is sent again
  });

  it('replays confirmed events of the one-id form written before confirmations were batched', async () => {
    const plugins = observedStores();
    const first = systems.start('confirm-legacy-1', plugins);
    TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000 });
    await outbox.send('/user/receiver', { n: 1 });
    await outbox.send('/user/receiver', { n: 2 });
    await first.terminate();
    // Stored as an older version wrote it: the last event's envelope, with a one-id confirmation inside.
    let last: PersistentRepr | undefined;
    await plugins.journal.replayMessages('outbox', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (repr) => {
      last = repr;
    });
    const legacy: PersistentRepr = { ...last!, sequenceNr: 3, payload: JSON.stringify({ type: 'confirmed', deliveryId: 2 }) };
    expect((await plugins.journal.writeMessages([{ persistenceId: 'outbox', events: [legacy] }]))[0]!.status).toBe('ok');

    const second = systems.start('confirm-legacy-2', plugins);
    const receiver = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000 });
    expect(await recovered.stats()).toMatchObject({ accepted: 2, confirmed: 1, inFlight: 1 });
    expect(await recovered.status(2)).toEqual({ status: 'confirmed', deliveryId: 2 });
    expect((await receiver.expectMsg<DeliveryEnvelope>(isEnvelope)).deliveryId).toBe(1);
  });

  it('answers a repeated idempotency key with the first delivery id: concurrently, and after a restart', async () => {
    const plugins = observedStores();
    const first = systems.start('idem-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000 });
    const results = await Promise.all([1, 2, 3].map(() => outbox.send('/user/receiver', { order: 7 }, { idempotencyKey: 'order-7' })));
    expect(results.map((r) => r.deliveryId)).toEqual([1, 1, 1]);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await outbox.send('/user/receiver', { order: 8 }, { idempotencyKey: 'order-8' })).toEqual({ deliveryId: 2, duplicate: false });
    expect(await receiver.receiveN(2)).toHaveLength(2);
    await receiver.expectNoMessage(100); // the duplicates sent nothing
    await first.terminate();

    const second = systems.start('idem-2', plugins);
    TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000 });
    expect(await recovered.send('/user/receiver', { order: 7 }, { idempotencyKey: 'order-7' })).toEqual({ deliveryId: 1, duplicate: true });
    expect(await recovered.send('/user/receiver', { order: 9 }, { idempotencyKey: 'order-9' })).toEqual({ deliveryId: 3, duplicate: false });
    const accepted = (await plugins.journal.events('outbox')).filter((event) => (event as OutboxEvent).type === 'accepted');
    expect(accepted).toHaveLength(3);
  });
});

describe('Outbox snapshots', () => {
  it('snapshots every snapshotEvery events and recovers from the snapshot plus the events after it', async () => {
    const plugins = observedStores();
    const first = systems.start('snap-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 3, maxIdempotencyKeys: 10 });
    const saved = plugins.snapshotStore.saved();
    for (let n = 1; n <= 3; n++) await outbox.send('/user/receiver', { n }, { idempotencyKey: `k${n}` });
    expect(await saved).toBe(3);
    await receiver.receiveN(3);
    receiver.reply(new DeliveryConfirmed(2));
    await plugins.journal.stored(confirmedEvent(2)); // event 4, after the snapshot
    await outbox.send('/user/receiver', { n: 4 }); // event 5
    await receiver.expectMsg(isEnvelope);
    await settleMicrotasks();
    const inFlightBefore = (await outbox.inFlight()).map(({ deliveryId, destination, message }) => ({ deliveryId, destination, message }));
    expect(inFlightBefore.map((d) => d.deliveryId)).toEqual([1, 3, 4]);
    await first.terminate();

    const second = systems.start('snap-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, { redeliverInterval: 60_000, snapshotEvery: 3 });
    // Redelivered right after recovery, as envelopes (the snapshot holds plain payloads).
    expect(await receiver2.receiveN(3)).toEqual([
      new DeliveryEnvelope('outbox', 1, { n: 1 }),
      new DeliveryEnvelope('outbox', 3, { n: 3 }),
      new DeliveryEnvelope('outbox', 4, { n: 4 }),
    ]);
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([4]); // only the events after the snapshot were read
    expect((await recovered.inFlight()).map(({ deliveryId, destination, message }) => ({ deliveryId, destination, message }))).toEqual(inFlightBefore);
    expect(await recovered.stats()).toMatchObject({ accepted: 4, confirmed: 1, inFlight: 3 });
    // A delivery restored from the snapshot is confirmed like any other.
    const confirmedAfterRestart = plugins.journal.stored(confirmedEvent(1));
    receiver2.reply(new DeliveryConfirmed(1));
    await confirmedAfterRestart;
    await settleMicrotasks();
    expect((await recovered.inFlight()).map((d) => d.deliveryId)).toEqual([3, 4]);
    expect(await recovered.stats()).toMatchObject({ confirmed: 2, inFlight: 2 });
    // Idempotency keys came back from the snapshot too.
    expect(await recovered.send('/user/receiver', { n: 1 }, { idempotencyKey: 'k1' })).toEqual({ deliveryId: 1, duplicate: true });
    expect((await recovered.send('/user/receiver', { n: 5 })).deliveryId).toBe(5);
  });

  it('with keepSnapshots 1, deletes the events (and older snapshots) a snapshot covers, and recovers from it', async () => {
    const plugins = observedStores();
    const first = systems.start('delete-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    // The in-memory journal is volatile: payloads stay inline in the snapshot, so every covered event may go.
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 2, keepSnapshots: 1 });
    const firstDeletion = plugins.journal.deleted();
    await outbox.send('/user/receiver', { n: 1 });
    await outbox.send('/user/receiver', { n: 2 });
    expect(await firstDeletion).toBe(2);
    expect(await plugins.journal.events('outbox')).toEqual([]);

    const secondDeletion = plugins.journal.deleted();
    const olderSnapshotsDeleted = plugins.snapshotStore.deletedMatching();
    await receiver.receiveN(2);
    receiver.reply(new DeliveryConfirmed(2)); // event 3
    await plugins.journal.stored(confirmedEvent(2));
    await outbox.send('/user/receiver', { n: 3 }); // event 4: second snapshot
    expect(await secondDeletion).toBe(4);
    await olderSnapshotsDeleted;
    expect(await plugins.snapshotStore.load('outbox', new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBeUndefined();
    expect((await plugins.snapshotStore.load('outbox', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(4);
    await first.terminate();

    const second = systems.start('delete-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000, snapshotEvery: 2, keepSnapshots: 1 });
    expect(await receiver2.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 1, { n: 1 }), new DeliveryEnvelope('outbox', 3, { n: 3 })]);
    // Ids continue after the deleted events (the counter is in the snapshot).
    expect(await recovered.send('/user/receiver', { n: 4 })).toEqual({ deliveryId: 4, duplicate: false });
  });
});
