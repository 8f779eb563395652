/**
 * The receiving side: ReceivedDeliveries on its own (duplicates, out-of-order ids, bounded memory,
 * advanceTo, snapshots), and a persistent receiver that keeps it in its state and persists the dedup
 * record and the effect in one event, fed by an Outbox across a restart of both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  confirmedIdsOf,
  DeliveryConfirmed,
  DeliveryEnvelope,
  InvalidOptionError,
  Outbox,
  PersistentActor,
  ReceivedDeliveries,
  RecoveryCompleted,
  type ActorRef,
  type PersistenceReply,
  type ReceivedDeliveriesSnapshot,
} from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { Systems, isConfirmed, observedStores, type ObservedStores } from './support/delivery-fixtures.js';

describe('ReceivedDeliveries', () => {
  it('recognises a duplicate of an applied (sender, id) and keeps senders apart', () => {
    const received = new ReceivedDeliveries();
    expect(received.has('a', 1)).toBe(false);
    expect(received.add('a', 1)).toBe(true);
    expect(received.add('a', 1)).toBe(false);
    expect(received.has('a', 1)).toBe(true);
    expect(received.has('b', 1)).toBe(false);
    expect(received.add('b', 1)).toBe(true);
    expect(received.senderCount).toBe(2);
  });

  it('handles ids out of order: gaps stay open until filled, then fold into the high-water mark', () => {
    const received = new ReceivedDeliveries();
    for (const id of [1, 3, 5]) expect(received.add('s', id)).toBe(true);
    expect(received.outOfOrderCount).toBe(2);
    expect([2, 4].map((id) => received.has('s', id))).toEqual([false, false]);
    expect(received.add('s', 3)).toBe(false);
    expect(received.add('s', 2)).toBe(true);
    expect(received.toSnapshot()).toEqual({ senders: { s: { upTo: 3, above: [5] } } });
    expect(received.add('s', 4)).toBe(true);
    expect(received.toSnapshot()).toEqual({ senders: { s: { upTo: 5, above: [] } } });
    expect(received.outOfOrderCount).toBe(0);
    expect([1, 2, 3, 4, 5].every((id) => received.has('s', id))).toBe(true);
    expect(received.has('s', 6)).toBe(false);
  });

  it('keeps nothing beyond the high-water mark for a million sequential ids', () => {
    const received = new ReceivedDeliveries();
    for (let id = 1; id <= 1_000_000; id++) {
      if (!received.add('busy', id)) throw new Error(`id ${id} taken for a duplicate`);
    }
    expect(received.outOfOrderCount).toBe(0);
    expect(received.toSnapshot()).toEqual({ senders: { busy: { upTo: 1_000_000, above: [] } } });
    expect(received.add('busy', 999_999)).toBe(false);
  });

  it('advanceTo settles ids that will never arrive, so later ids stop piling up above the mark', () => {
    const received = new ReceivedDeliveries();
    received.add('s', 1);
    for (const id of [3, 4, 6]) received.add('s', id);
    expect(received.outOfOrderCount).toBe(3);
    received.advanceTo('s', 2); // the sender gave 2 up
    expect(received.toSnapshot()).toEqual({ senders: { s: { upTo: 4, above: [6] } } });
    expect(received.has('s', 2)).toBe(true);
    received.advanceTo('s', 1); // lower: no effect
    expect(received.toSnapshot()).toEqual({ senders: { s: { upTo: 4, above: [6] } } });
    received.advanceTo('fresh', 10);
    expect(received.has('fresh', 10)).toBe(true);
    expect(received.add('fresh', 11)).toBe(true);
    expect(received.outOfOrderCount).toBe(1);
  });

  it('refuses ids that are not positive integers (also in advanceTo, where NaN used to become the mark)', () => {
    const received = new ReceivedDeliveries();
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => received.add('s', bad)).toThrow(InvalidOptionError);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => received.advanceTo('s', bad)).toThrow(InvalidOptionError);
    received.add('s', 1);
    expect(received.has('s', 2)).toBe(false);
  });

  it('round-trips through a JSON snapshot with the same answers', () => {
    const received = new ReceivedDeliveries();
    for (const id of [1, 2, 3, 7, 9]) received.add('a', id);
    received.add('b', 2);
    const snapshot = JSON.parse(JSON.stringify(received.toSnapshot())) as ReceivedDeliveriesSnapshot;
    const restored = ReceivedDeliveries.fromSnapshot(snapshot);
    expect(restored.toSnapshot()).toEqual(received.toSnapshot());
    for (const sender of ['a', 'b', 'c']) {
      for (let id = 1; id <= 10; id++) expect(restored.has(sender, id)).toBe(received.has(sender, id));
    }
    expect(restored.outOfOrderCount).toBe(3);
    expect(() => ReceivedDeliveries.fromSnapshot(null as unknown as ReceivedDeliveriesSnapshot)).toThrow(InvalidOptionError);
  });
});

// --- a persistent deduplicating receiver ---------------------------------------------------------------

type Applied = { type: 'applied'; senderId: string; deliveryId: number; amount: number };

class AppliedReport {
  constructor(
    readonly deliveryId: number,
    readonly total: number,
  ) {}
}
class DuplicateReport {
  constructor(readonly deliveryId: number) {}
}

/** Adds up amounts, each delivery once: the dedup record and the effect are one event. */
class Account extends PersistentActor<DeliveryEnvelope<{ amount: number }> | { type: 'total' }, Applied> {
  readonly persistenceId = 'account';
  #received = new ReceivedDeliveries();
  #total = 0;

  constructor(
    private readonly reports: ActorRef,
    /** The first this many confirmations are "lost" on the way back. */
    private loseConfirmations: number,
  ) {
    super();
  }

  onCommand(command: DeliveryEnvelope<{ amount: number }> | { type: 'total' } | PersistenceReply): void {
    if (command instanceof DeliveryEnvelope) {
      if (this.#received.has(command.senderId, command.deliveryId)) {
        // Already applied: confirm again (the earlier confirmation may be what got lost), apply nothing.
        this.reports.tell(new DuplicateReport(command.deliveryId));
        this.#confirm(command.deliveryId);
        return;
      }
      void this.persist({ type: 'applied', senderId: command.senderId, deliveryId: command.deliveryId, amount: command.payload.amount }, (event) => {
        this.#apply(event);
        this.reports.tell(new AppliedReport(event.deliveryId, this.#total));
        this.#confirm(event.deliveryId);
      });
      return;
    }
    if ('type' in command && command.type === 'total') this.sender.tell(this.#total);
  }

  onRecover(message: Applied | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) return;
    this.#apply(message);
  }

  #apply(event: Applied): void {
    if (this.#received.add(event.senderId, event.deliveryId)) this.#total += event.amount;
  }

  #confirm(deliveryId: number): void {
    if (this.loseConfirmations > 0) {
      this.loseConfirmations--;
      return;
    }
    this.sender.tell(new DeliveryConfirmed(deliveryId));
  }
}

const systems = new Systems();
afterEach(() => systems.terminateAll());

const confirmedEvent = (deliveryId: number) => (event: unknown) => isConfirmed(event) && confirmedIdsOf(event).includes(deliveryId);

/** Distinct ids with a persisted confirmation (two confirmations in flight may both be stored). */
async function confirmedIds(plugins: ObservedStores): Promise<number[]> {
  const events = await plugins.journal.events('outbox');
  const ids = events.filter(isConfirmed).flatMap(confirmedIdsOf);
  return [...new Set(ids)].sort((a, b) => a - b);
}

describe('a persistent deduplicating receiver', () => {
  it('applies each delivery once, confirms duplicates again, and keeps that across a restart of both sides', async () => {
    const plugins = observedStores();
    const first = systems.start('dedup-1', plugins);
    const reports = TestProbe.create(first, 'reports');
    const account = first.actorOf(() => new Account(reports.ref, 4), 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 100 });
    // Registered before anything is sent: a confirmation may be stored before the last report arrives.
    const bothConfirmed = Promise.all([plugins.journal.stored(confirmedEvent(1)), plugins.journal.stored(confirmedEvent(2))]);
    // Every confirmation of 1 and 2 is lost twice: both are applied once and seen again as duplicates.
    await outbox.send('/user/receiver', { amount: 10 });
    await outbox.send('/user/receiver', { amount: 5 });
    const seen = await reports.receiveN(6, 5000);
    expect(seen.filter((m) => m instanceof AppliedReport)).toEqual([new AppliedReport(1, 10), new AppliedReport(2, 15)]);
    expect(seen.filter((m) => m instanceof DuplicateReport).length).toBe(4);
    await bothConfirmed;
    expect(await account.ask<number>({ type: 'total' })).toBe(15);
    await first.terminate();

    // Second run: the receiver loses the confirmation of 3 and the process stops before the redelivery.
    const second = systems.start('dedup-2', plugins);
    const reports2 = TestProbe.create(second, 'reports');
    second.actorOf(() => new Account(reports2.ref, 1), 'receiver');
    const outbox2 = Outbox.start(second, { redeliverInterval: 60_000 });
    await outbox2.send('/user/receiver', { amount: 100 });
    expect(await reports2.expectMsgType(AppliedReport)).toEqual(new AppliedReport(3, 115));
    await second.terminate();

    // Third run: the outbox resends 3 after recovery; the recovered receiver knows it was applied.
    const third = systems.start('dedup-3', plugins);
    const reports3 = TestProbe.create(third, 'reports');
    const account3 = third.actorOf(() => new Account(reports3.ref, 0), 'receiver');
    const confirmed3 = plugins.journal.stored(confirmedEvent(3));
    const outbox3 = Outbox.start(third, { redeliverInterval: 60_000 });
    expect(await reports3.expectMsgType(DuplicateReport)).toEqual(new DuplicateReport(3));
    await confirmed3;
    expect(await account3.ask<number>({ type: 'total' })).toBe(115);
    const confirmed4 = plugins.journal.stored(confirmedEvent(4));
    await outbox3.send('/user/receiver', { amount: 1 });
    expect(await reports3.expectMsgType(AppliedReport)).toEqual(new AppliedReport(4, 116));
    // One event per applied delivery, none for the duplicates.
    const applied = await plugins.journal.events('account');
    expect(applied.map((event) => (event as Applied).deliveryId)).toEqual([1, 2, 3, 4]);
    await confirmed4;
    expect(await confirmedIds(plugins)).toEqual([1, 2, 3, 4]);
  });
});
