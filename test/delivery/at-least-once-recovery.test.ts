/**
 * AtLeastOnceDeliveryActor across restarts (Akka's AtLeastOnceDeliverySpec and
 * AtLeastOnceDeliveryFailureSpec in spirit): nothing is sent while recovering, every unconfirmed
 * delivery goes out right after recovery and before any new command, delivery snapshots restore the
 * counter and the unconfirmed set exactly, and delivery ids survive event deletion (Akka.NET #2372).
 * A second ActorSystem on the same plugin instances plays the restarted process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeliveryConfirmed,
  DeliveryStateDeletionError,
  SaveSnapshotSuccess,
  type ActorRef,
  type AtLeastOnceDeliverySnapshot,
} from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { Confirmed, Recovered, Systems, isPayload, startSender, stores, type SenderState, type Stores } from './support/delivery-fixtures.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

/** One incarnation: a sender at /user/sender delivering to the probe at /user/destination (resolved at send time). */
async function incarnation(name: string, plugins: Stores, persistenceId: string, tellFirst?: unknown) {
  const system = systems.start(name, plugins);
  const reports = TestProbe.create(system, 'reports');
  const destination = TestProbe.create(system, 'destination');
  const sender = startSender(system, { persistenceId, destination: '/user/destination', reports: reports.ref, settings: { redeliverInterval: 60_000 } });
  // Told before recovery even started: it must be handled after recovery and after the redeliveries.
  if (tellFirst !== undefined) sender.tell(tellFirst);
  const recovered = await reports.expectMsgType(Recovered);
  return { system, reports, destination, sender, recovered };
}

async function confirm(destinationSender: ActorRef, reports: TestProbe, id: number): Promise<void> {
  destinationSender.tell(new DeliveryConfirmed(id));
  expect((await reports.fishForMessage<Confirmed>((m) => m instanceof Confirmed)).deliveryId).toBe(id);
}

const withoutAttempts = (state: SenderState) => state.deliveries.map(({ deliveryId, destination, message }) => ({ deliveryId, destination, message }));

describe('AtLeastOnceDeliveryActor after a restart', () => {
  it('sends nothing while recovering, then every unconfirmed delivery, before a command told before it started', async () => {
    const plugins = stores();
    const first = await incarnation('before', plugins, 'restart');
    for (const text of ['a', 'b', 'c', 'd']) first.sender.tell({ type: 'send', text });
    await first.destination.receiveN(4);
    // 2 and 4 confirmed: during replay they are delivered (event "sent") and then confirmed (event
    // "confirmed"); an actor that sent while recovering would send them too.
    await confirm(first.destination.lastSender, first.reports, 2);
    await confirm(first.destination.lastSender, first.reports, 4);
    await first.system.terminate();

    const second = await incarnation('after', plugins, 'restart', { type: 'send', text: 'e' });
    expect(second.recovered).toEqual(new Recovered(0, 2, 4));
    expect(await second.destination.receiveN(3)).toEqual([
      { id: 1, text: 'a' },
      { id: 3, text: 'c' },
      { id: 5, text: 'e' },
    ]);
    await second.destination.expectNoMessage(200);
  });

  it('redelivers after the actor crashed and was restarted in place by its supervisor', async () => {
    const { sender, reports, destination } = await incarnation('in-place', stores(), 'in-place');
    sender.tell({ type: 'send', text: 'a' });
    sender.tell({ type: 'send', text: 'b' });
    await destination.receiveN(2);
    await confirm(destination.lastSender, reports, 1);
    sender.tell({ type: 'crash' });
    sender.tell({ type: 'send', text: 'c' });
    expect(await reports.expectMsgType(Recovered)).toEqual(new Recovered(0, 1, 2));
    expect(await destination.receiveN(2)).toEqual([
      { id: 2, text: 'b' },
      { id: 3, text: 'c' },
    ]);
  });

  it('restores the counter and the unconfirmed set exactly from a delivery snapshot plus later events', async () => {
    const plugins = stores();
    const first = await incarnation('snap-1', plugins, 'snap');
    for (const text of ['a', 'b', 'c']) first.sender.tell({ type: 'send', text });
    await first.destination.receiveN(3);
    await confirm(first.destination.lastSender, first.reports, 1);
    first.sender.tell({ type: 'snap' });
    expect((await first.reports.expectMsgType(SaveSnapshotSuccess)).metadata.sequenceNr).toBe(4);
    // After the snapshot: one more delivery, and a confirmation of one the snapshot holds.
    first.sender.tell({ type: 'send', text: 'd' });
    await first.destination.expectMsg(isPayload);
    await confirm(first.destination.lastSender, first.reports, 3);
    const before = await first.sender.ask<SenderState>({ type: 'state' });
    expect(withoutAttempts(before).map((d) => d.deliveryId)).toEqual([2, 4]);
    await first.system.terminate();

    const second = await incarnation('snap-2', plugins, 'snap');
    expect(second.recovered).toEqual(new Recovered(0, 2, 4));
    expect(await second.destination.receiveN(2)).toEqual([
      { id: 2, text: 'b' },
      { id: 4, text: 'd' },
    ]);
    const after = await second.sender.ask<SenderState>({ type: 'state' });
    expect(withoutAttempts(after)).toEqual(withoutAttempts(before));
    expect(after.currentDeliveryId).toBe(before.currentDeliveryId);
    second.sender.tell({ type: 'send', text: 'e' });
    expect(await second.destination.expectMsg(isPayload)).toEqual({ id: 5, text: 'e' });
  });

  it('keeps the counter from the snapshot even when the highest id is confirmed (the set alone would say 2)', async () => {
    const plugins = stores();
    const first = await incarnation('counter-1', plugins, 'counter');
    for (const text of ['a', 'b', 'c']) first.sender.tell({ type: 'send', text });
    await first.destination.receiveN(3);
    await confirm(first.destination.lastSender, first.reports, 3);
    first.sender.tell({ type: 'snap' });
    await first.reports.expectMsgType(SaveSnapshotSuccess);
    first.sender.tell({ type: 'delete', to: 4 });
    await first.reports.expectMsgType(DeleteMessagesSuccess);
    await first.system.terminate();

    // Only the snapshot is left: the counter must come from it.
    const second = await incarnation('counter-2', plugins, 'counter', { type: 'send', text: 'd' });
    expect(second.recovered).toEqual(new Recovered(0, 2, 3));
    expect(await second.destination.receiveN(3)).toEqual([
      { id: 1, text: 'a' },
      { id: 2, text: 'b' },
      { id: 4, text: 'd' },
    ]);
  });
});

describe('AtLeastOnceDeliveryActor and event deletion (Akka.NET #2372)', () => {
  it('refuses to delete events that carry delivery state unless a snapshot holding the counter covers them', async () => {
    const plugins = stores();
    const first = await incarnation('delete-1', plugins, 'delete');
    for (const text of ['a', 'b', 'c']) first.sender.tell({ type: 'send', text });
    await first.destination.receiveN(3);
    await confirm(first.destination.lastSender, first.reports, 3); // seq 4

    first.sender.tell({ type: 'delete', to: 4 });
    const refused = await first.reports.expectMsgType(DeleteMessagesFailure);
    expect(refused.cause).toBeInstanceOf(DeliveryStateDeletionError);
    expect(refused.cause).toMatchObject({ toSequenceNr: 4, coveredUpTo: 0 });

    first.sender.tell({ type: 'snap' });
    await first.reports.expectMsgType(SaveSnapshotSuccess);
    first.sender.tell({ type: 'send', text: 'd' }); // seq 5, id 4: not covered by the snapshot
    await first.destination.expectMsg(isPayload);
    first.sender.tell({ type: 'delete', to: 5 });
    expect((await first.reports.expectMsgType(DeleteMessagesFailure)).cause).toMatchObject({ toSequenceNr: 5, coveredUpTo: 4 });
    first.sender.tell({ type: 'delete', to: 4 });
    expect((await first.reports.expectMsgType(DeleteMessagesSuccess)).toSequenceNr).toBe(4);
    await first.system.terminate();

    // The restarted actor knows from its snapshot what is covered; ids continue after the deletion.
    const second = await incarnation('delete-2', plugins, 'delete');
    expect(second.recovered).toEqual(new Recovered(0, 3, 4));
    expect((await second.destination.receiveN(3)).map((p) => (p as { id: number }).id)).toEqual([1, 2, 4]);
    second.sender.tell({ type: 'delete', to: 5 });
    expect((await second.reports.expectMsgType(DeleteMessagesFailure)).cause).toBeInstanceOf(DeliveryStateDeletionError);
    second.sender.tell({ type: 'delete', to: 4 });
    await second.reports.expectMsgType(DeleteMessagesSuccess);
    second.sender.tell({ type: 'send', text: 'e' });
    expect(await second.destination.expectMsg(isPayload)).toEqual({ id: 5, text: 'e' });
    await second.system.terminate();

    // A third start, from the snapshot and event 5..6 only: still no id handed out twice.
    const third = await incarnation('delete-3', plugins, 'delete', { type: 'send', text: 'f' });
    expect(third.recovered).toEqual(new Recovered(0, 4, 5));
    expect((await third.destination.receiveN(5)).map((p) => (p as { id: number }).id)).toEqual([1, 2, 4, 5, 6]);
  });

  it('counts only a saved snapshot that holds the current delivery state: reading getDeliverySnapshot() covers nothing', async () => {
    const { sender, reports, destination } = await incarnation('delete-read', stores(), 'delete-read');
    for (const text of ['a', 'b', 'c']) sender.tell({ type: 'send', text });
    await destination.receiveN(3);
    await confirm(destination.lastSender, reports, 3); // seq 4
    const refusedUpTo = async (toSequenceNr: number) => {
      sender.tell({ type: 'delete', to: toSequenceNr });
      return (await reports.expectMsgType(DeleteMessagesFailure)).cause;
    };

    // A metrics probe reads the delivery state; the actor then snapshots only its own state.
    expect(await sender.ask<AtLeastOnceDeliverySnapshot>({ type: 'read-delivery-snapshot' })).toMatchObject({ currentDeliveryId: 3 });
    sender.tell({ type: 'snap', holding: 'other-state' });
    expect((await reports.expectMsgType(SaveSnapshotSuccess)).metadata.sequenceNr).toBe(4);
    expect(await refusedUpTo(4)).toMatchObject({ code: 'ERR_DELIVERY_STATE_DELETION', toSequenceNr: 4, coveredUpTo: 0 });

    // Saving what was read before a later delivery stores a stale counter: it covers nothing either.
    sender.tell({ type: 'send', text: 'd' }); // seq 5, id 4
    await destination.expectMsg(isPayload);
    sender.tell({ type: 'snap', holding: 'last-read' });
    expect((await reports.expectMsgType(SaveSnapshotSuccess)).metadata.sequenceNr).toBe(5);
    expect(await refusedUpTo(4)).toMatchObject({ toSequenceNr: 4, coveredUpTo: 0 });

    // The current delivery state as a field of the actor's snapshot does cover the events.
    sender.tell({ type: 'snap', holding: 'delivery-field' });
    await reports.expectMsgType(SaveSnapshotSuccess);
    sender.tell({ type: 'delete', to: 5 });
    expect((await reports.expectMsgType(DeleteMessagesSuccess)).toSequenceNr).toBe(5);
  });
});
