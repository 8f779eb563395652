/**
 * Outbox snapshots stay small and few: the newest `keepSnapshots` are kept, the events no kept
 * snapshot needs are deleted, and the payloads of unconfirmed deliveries stay in their `accepted`
 * events (the snapshot references them) when the journal survives restarts. Recovery stays exact
 * after a kill between save and deletion, a failing deletion, a failing snapshot store, and from
 * snapshots written before payloads were referenced.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryConfirmed, DeliveryEnvelope, Outbox, SnapshotSelectionCriteria, type OutboxSnapshot } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { eventually } from '../support/eventually.js';
import {
  durableObservedStores,
  isConfirmed,
  observedStores,
  ObservedSnapshotStore,
  replayedFrom,
  settleMicrotasks,
  Systems,
  type ObservedStores,
} from './support/delivery-fixtures.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

const options = { redeliverInterval: 60_000 };

async function latestSnapshot(plugins: ObservedStores, persistenceId = 'outbox'): Promise<{ sequenceNr: number; state: OutboxSnapshot } | undefined> {
  const stored = await plugins.snapshotStore.load(persistenceId, SnapshotSelectionCriteria.latest);
  if (stored === undefined) return undefined;
  return { sequenceNr: stored.metadata.sequenceNr, state: JSON.parse(stored.snapshot.payload as string) as OutboxSnapshot };
}

async function snapshotSequenceNrs(plugins: ObservedStores, upTo: number): Promise<number[]> {
  const found: number[] = [];
  for (let sequenceNr = 1; sequenceNr <= upTo; sequenceNr++) {
    const stored = await plugins.snapshotStore.load('outbox', new SnapshotSelectionCriteria({ minSequenceNr: sequenceNr, maxSequenceNr: sequenceNr }));
    if (stored) found.push(sequenceNr);
  }
  return found;
}

async function storedSequenceNrs(plugins: ObservedStores): Promise<number[]> {
  const found: number[] = [];
  await plugins.journal.inner.replayMessages('outbox', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (repr) => {
    found.push(repr.sequenceNr);
  });
  return found;
}

/** Sends, then waits until the snapshot the send triggers (if any) has been handled by the outbox. */
async function sendAndSettle(outbox: Outbox, payload: { n: number }): Promise<number> {
  const { deliveryId } = await outbox.send('/user/receiver', payload);
  await settleMicrotasks();
  await settleMicrotasks();
  return deliveryId;
}

/** The receiver confirms (a reply to the outbox, the sender of what it received last) and the event is stored. */
async function confirm(plugins: ObservedStores, receiver: TestProbe, deliveryId: number): Promise<void> {
  const stored = plugins.journal.stored((event) => isConfirmed(event));
  receiver.reply(new DeliveryConfirmed(deliveryId));
  await stored;
  await settleMicrotasks();
  await settleMicrotasks();
}

const bytesOf = (payload: unknown): number => Buffer.byteLength(JSON.stringify(payload));

describe('snapshot retention (keepSnapshots, deleteEventsOnSnapshot)', () => {
  it('keeps the newest two snapshots by default and deletes the events below the older of them', async () => {
    const plugins = observedStores();
    const system = systems.start('keep-2', plugins);
    TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { ...options, snapshotEvery: 2 });
    for (let n = 1; n <= 4; n++) await sendAndSettle(outbox, { n });
    expect(await snapshotSequenceNrs(plugins, 6)).toEqual([2, 4]);
    const snapshotsDeleted = plugins.snapshotStore.deletedMatching();
    const eventsDeleted = plugins.journal.deleted();
    // Nothing is confirmed, so the backlog grows: with more deliveries in flight than snapshotEvery, a
    // snapshot waits until the backlog has doubled since the last one (4 then): event 8 takes the third.
    for (let n = 5; n <= 7; n++) await sendAndSettle(outbox, { n });
    expect(await snapshotSequenceNrs(plugins, 8)).toEqual([2, 4]);
    await sendAndSettle(outbox, { n: 8 });
    await snapshotsDeleted;
    expect(await eventsDeleted).toBe(4);
    expect(await snapshotSequenceNrs(plugins, 8)).toEqual([4, 8]);
    expect(await storedSequenceNrs(plugins)).toEqual([5, 6, 7, 8]);
  });
});

describe('payloads of unconfirmed deliveries stay in the journal (durable journal)', () => {
  it('the snapshot references the accepted events instead of copying payloads; recovery reads them back', async () => {
    const plugins = durableObservedStores();
    const first = systems.start('refs-1', plugins);
    TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { ...options, snapshotEvery: 3 });
    const saved = plugins.snapshotStore.saved();
    for (let n = 1; n <= 3; n++) await outbox.send('/user/receiver', { n, text: 'x'.repeat(1000) });
    expect(await saved).toBe(3);
    const snapshot = (await latestSnapshot(plugins))!;
    expect(snapshot.state.delivery.unconfirmedDeliveries.map(({ deliveryId, payloadAt, message }) => ({ deliveryId, payloadAt, message }))).toEqual([
      { deliveryId: 1, payloadAt: 1, message: undefined },
      { deliveryId: 2, payloadAt: 2, message: undefined },
      { deliveryId: 3, payloadAt: 3, message: undefined },
    ]);
    await outbox.send('/user/receiver', { n: 4, text: '' }); // event 4, after the snapshot
    await first.terminate();

    const second = systems.start('refs-2', plugins);
    const receiver = TestProbe.create(second, 'receiver');
    const replaysBefore = plugins.journal.replays.length;
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 3 });
    const resent = await receiver.receiveN(4);
    expect(resent.map((envelope) => (envelope as DeliveryEnvelope<{ n: number; text: string }>).payload.n)).toEqual([1, 2, 3, 4]);
    expect((resent[0] as DeliveryEnvelope<{ text: string }>).payload.text).toBe('x'.repeat(1000));
    // The referenced events first (1 to the snapshot's 3), then the events after the snapshot.
    expect(replayedFrom(plugins.journal, 'outbox', replaysBefore)).toEqual([1, 4]);
    const stats = await recovered.stats();
    expect(stats).toMatchObject({
      accepted: 4,
      inFlight: 4,
      inFlightBytes: 3 * bytesOf({ n: 1, text: 'x'.repeat(1000) }) + bytesOf({ n: 4, text: '' }),
    });
    // 4 recovered events, plus the `attempted` event of the resends when it was already written.
    expect([4, 5]).toContain(stats.lastSequenceNr);
    expect((await recovered.send('/user/receiver', { n: 5 })).deliveryId).toBe(5);
  });

  it('with a backlog of more than 4 snapshotEvery deliveries, snapshots after half the backlog in events (each time it doubled), not every snapshotEvery', async () => {
    const plugins = observedStores();
    const first = systems.start('backlog-1', plugins);
    TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { ...options, snapshotEvery: 2, keepSnapshots: 100 });
    for (let n = 1; n <= 60; n++) await sendAndSettle(outbox, { n }); // event n accepts delivery n: n in flight
    const saves = plugins.snapshotStore.savedSequenceNrs;
    // Every 2 events would be 30 snapshots, each walking every delivery in flight.
    expect(saves.length).toBeLessThan(8); // 2, 4, 6, 8, then each time the backlog doubled
    for (let i = 1; i < saves.length; i++) {
      const events = saves[i]! - saves[i - 1]!;
      expect(events).toBeGreaterThanOrEqual(2);
      // Up to 4 snapshotEvery (8) in flight, every snapshotEvery; past that, half the backlog apart.
      if (saves[i]! > 8) expect(events * 2).toBeGreaterThanOrEqual(saves[i]!);
    }
    // Never more events after the newest snapshot than it holds deliveries (or 4 snapshotEvery).
    expect(60 - saves.at(-1)!).toBeLessThanOrEqual(Math.max(8, saves.at(-1)!));
    await first.terminate();

    const second = systems.start('backlog-2', plugins);
    const receiver = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 2, keepSnapshots: 100 });
    expect((await receiver.receiveN(60)).map((envelope) => (envelope as DeliveryEnvelope<{ n: number }>).payload.n)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await recovered.stats()).toMatchObject({ accepted: 60, inFlight: 60 });
  });

  it('deletes events only below the accepted event of the oldest unconfirmed delivery any kept snapshot references', async () => {
    const plugins = durableObservedStores();
    const system = systems.start('pinned', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { ...options, snapshotEvery: 2 });
    await sendAndSettle(outbox, { n: 1 });
    await sendAndSettle(outbox, { n: 2 }); // snapshot 2 needs 1 and 2
    await receiver.receiveN(2);
    await confirm(plugins, receiver, 1); // event 3
    await sendAndSettle(outbox, { n: 3 }); // event 4: snapshot 4 needs 2 and 4; snapshot 2 is still kept
    expect(plugins.journal.calls.deleteMessagesTo).toBe(0);
    await confirm(plugins, receiver, 2); // event 5
    const deleted = plugins.journal.deleted();
    await sendAndSettle(outbox, { n: 4 }); // event 6: snapshots 4 and 6 kept, the oldest payload needed is at 4
    expect(await deleted).toBe(3);
    expect(await storedSequenceNrs(plugins)).toEqual([4, 5, 6]);
    await system.terminate();

    const again = systems.start('pinned-2', plugins);
    const receiver2 = TestProbe.create(again, 'receiver');
    Outbox.start(again, { ...options, snapshotEvery: 2 });
    expect(await receiver2.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 3, { n: 3 }), new DeliveryEnvelope('outbox', 4, { n: 4 })]);
  });

  it('inlines a delivery stuck for longer than a snapshot interval, so that it does not pin the journal', async () => {
    const plugins = durableObservedStores();
    const system = systems.start('stuck', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    await sendAndSettle(outbox, { n: 1 }); // never confirmed
    await sendAndSettle(outbox, { n: 2 }); // snapshot 2 references both
    await receiver.receiveN(2);
    await confirm(plugins, receiver, 2); // event 3
    const deleted = plugins.journal.deleted();
    await sendAndSettle(outbox, { n: 3 }); // event 4: delivery 1 is older than one interval
    expect(await deleted).toBe(3);
    const snapshot = (await latestSnapshot(plugins))!;
    expect(snapshot.sequenceNr).toBe(4);
    expect(snapshot.state.delivery.unconfirmedDeliveries.map(({ deliveryId, payloadAt, message }) => ({ deliveryId, payloadAt, message }))).toEqual([
      { deliveryId: 1, payloadAt: undefined, message: { n: 1 } },
      { deliveryId: 3, payloadAt: 4, message: undefined },
    ]);
    await system.terminate();

    const again = systems.start('stuck-2', plugins);
    const receiver2 = TestProbe.create(again, 'receiver');
    Outbox.start(again, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    expect(await receiver2.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 1, { n: 1 }), new DeliveryEnvelope('outbox', 3, { n: 3 })]);
  });
});

/** A durable journal with two unconfirmed deliveries, a snapshot at 2 referencing both, nothing deleted; the system stopped. */
async function twoSentThenSnapshotted(name: string): Promise<ObservedStores> {
  const plugins = durableObservedStores();
  const first = systems.start(name, plugins);
  TestProbe.create(first, 'receiver');
  const outbox = Outbox.start(first, { ...options, snapshotEvery: 2, deleteEventsOnSnapshot: false });
  const saved = plugins.snapshotStore.saved();
  await outbox.send('/user/receiver', { n: 1 });
  await outbox.send('/user/receiver', { n: 2 });
  await saved;
  await first.terminate();
  return plugins;
}

describe('recovery stays exact whatever fails', () => {
  it('after a kill between the snapshot save and the deletion (deletion failing), and the deletion is retried later', async () => {
    const plugins = durableObservedStores();
    const failing = plugins.journal.failDeletes();
    const first = systems.start('kill-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    await sendAndSettle(outbox, { n: 1 });
    await receiver.receiveN(1);
    await confirm(plugins, receiver, 1); // event 2: snapshot 2, nothing unconfirmed; its deletion fails
    await sendAndSettle(outbox, { n: 2 });
    await sendAndSettle(outbox, { n: 3 }); // event 4: snapshot 4 references 3 and 4; deletion fails again
    expect(plugins.journal.calls.deleteMessagesTo).toBeGreaterThanOrEqual(2); // both tried (the breaker may retry)
    expect(await storedSequenceNrs(plugins)).toEqual([1, 2, 3, 4]);
    await first.terminate();
    failing.remove();

    const second = systems.start('kill-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    expect(await receiver2.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 2, { n: 2 }), new DeliveryEnvelope('outbox', 3, { n: 3 })]);
    expect(await recovered.stats()).toMatchObject({ accepted: 3, confirmed: 1, inFlight: 2 });
    const deleted = plugins.journal.deleted();
    // Event 5 records the redelivery of 2 and 3 right after recovery (their second attempt), event 6
    // accepts 4: snapshot 6 inlines deliveries 2 and 3 (older than one interval) and needs 6 on.
    await sendAndSettle(recovered, { n: 4 });
    await sendAndSettle(recovered, { n: 5 });
    expect(await deleted).toBe(5);
    expect(await storedSequenceNrs(plugins)).toEqual([6, 7]);
  });

  it('when the snapshot store fails, nothing is deleted and recovery uses the older snapshot and the events', async () => {
    class FailingSaves extends ObservedSnapshotStore {
      failing = false;
      override async save(...args: Parameters<ObservedSnapshotStore['save']>): Promise<void> {
        if (this.failing) throw new Error('disk full');
        await super.save(...args);
      }
    }
    const snapshotStore = new FailingSaves();
    const plugins: ObservedStores = { journal: durableObservedStores().journal, snapshotStore };
    const first = systems.start('store-1', plugins, { logger: pino({ level: 'silent' }) });
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    await sendAndSettle(outbox, { n: 1 });
    await sendAndSettle(outbox, { n: 2 }); // snapshot 2
    snapshotStore.failing = true;
    await receiver.receiveN(2);
    await confirm(plugins, receiver, 1); // event 3
    await sendAndSettle(outbox, { n: 3 }); // event 4: this save fails
    expect((await latestSnapshot(plugins))!.sequenceNr).toBe(2);
    expect(plugins.journal.calls.deleteMessagesTo).toBe(0);
    await first.terminate();
    snapshotStore.failing = false;

    const second = systems.start('store-2', plugins);
    const receiver2 = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 2, keepSnapshots: 1 });
    expect(await receiver2.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 2, { n: 2 }), new DeliveryEnvelope('outbox', 3, { n: 3 })]);
    expect(await recovered.stats()).toMatchObject({ accepted: 3, confirmed: 1, inFlight: 2 });
  });

  it('loads a snapshot written before 0.2.0 (payloads inline), even with the events gone', async () => {
    const plugins = await twoSentThenSnapshotted('old-1');
    // Today's code references the payloads; the older format carried them inline, without payloadAt.
    await plugins.snapshotStore.rewriteLatest('outbox', (state) => {
      const snapshot = state as unknown as OutboxSnapshot;
      return {
        ...snapshot,
        delivery: {
          ...snapshot.delivery,
          unconfirmedDeliveries: snapshot.delivery.unconfirmedDeliveries.map(({ payloadAt: _gone, ...entry }) => ({ ...entry, message: { n: entry.deliveryId } })),
        },
      };
    });
    await plugins.journal.inner.deleteMessagesTo('outbox', 2);

    const second = systems.start('old-2', plugins);
    const receiver = TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { ...options, snapshotEvery: 2 });
    expect(await receiver.receiveN(2)).toEqual([new DeliveryEnvelope('outbox', 1, { n: 1 }), new DeliveryEnvelope('outbox', 2, { n: 2 })]);
    expect(await recovered.stats()).toMatchObject({ inFlight: 2, inFlightBytes: 2 * bytesOf({ n: 1 }) });
  });

  it('fails recovery with ERR_SNAPSHOT_PAYLOAD_MISSING when the journal lost a referenced payload, rather than inventing one', async () => {
    const plugins = await twoSentThenSnapshotted('lost-1');
    await plugins.journal.inner.deleteMessagesTo('outbox', 1); // behind the outbox's back

    const lines: string[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const second = systems.start('lost-2', plugins, { logger });
    const receiver = TestProbe.create(second, 'receiver');
    Outbox.start(second, { ...options, snapshotEvery: 2, restartBackoff: { minBackoffMs: 60_000, maxBackoffMs: 60_000 } });
    await eventually(
      async () => lines.join(''),
      (text) => text.includes('ERR_SNAPSHOT_PAYLOAD_MISSING') && text.includes('delivery 1 at event 1'),
      10_000,
      'the recovery failure logged',
    );
    await receiver.expectNoMessage(100);
  });
});
