import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, DeliveryConfirmed, DeliveryEnvelope, Outbox, SnapshotSelectionCriteria, inMemoryJournal, inMemorySnapshotStore } from '../../src/index.js';

class Receiver extends Actor {
  seen = new Set<number>();
  constructor(private readonly dropFirst: boolean, private readonly onApplied: (payload: unknown) => void) { super(); }
  receive(message: unknown) {
    if (!(message instanceof DeliveryEnvelope)) return;
    if (this.dropFirst && !this.seen.has(message.deliveryId)) { this.seen.add(message.deliveryId); return; }
    this.onApplied(message.payload);
    this.sender.tell(new DeliveryConfirmed(message.deliveryId));
  }
}

describe('Outbox', () => {
  it('delivers, redelivers lost messages, and confirms', async () => {
    const system = ActorSystem.create('s', { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() });
    const applied: unknown[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    system.actorOf(() => new Receiver(true, (p) => { applied.push(p); if (applied.length === 3) resolve(); }), 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 50 });
    const ids = [await outbox.send('/user/receiver', { n: 1 }), await outbox.send('/user/receiver', { n: 2 }), await outbox.send('/user/receiver', { n: 3 })];
    expect(ids.map((r) => r.deliveryId)).toEqual([1, 2, 3]);
    await done;
    expect(applied).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await expect.poll(async () => (await outbox.stats()).inFlight, { timeout: 5000 }).toBe(0);
    expect((await outbox.stats()).confirmed).toBe(3);
    await system.terminate();
  });
});

describe('Outbox snapshots', () => {
  it('snapshots deliveries to actor destinations and recovers them from the snapshot', async () => {
    const journal = inMemoryJournal();
    const snapshotStore = inMemorySnapshotStore();
    const first = ActorSystem.create('snap-a', { journal, snapshotStore });
    first.actorOf(() => new Receiver(true, () => {}), 'receiver'); // drops first copies: stays unconfirmed
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 3 });
    for (let n = 1; n <= 3; n++) await outbox.send('/user/receiver', { n });
    await expect.poll(async () => (await snapshotStore.load('outbox', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr, { timeout: 5000 }).toBe(3);
    await first.terminate();

    const applied: unknown[] = [];
    const second = ActorSystem.create('snap-b', { journal, snapshotStore });
    second.actorOf(() => new Receiver(false, (payload) => applied.push(payload)), 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000 });
    // Redelivered right after recovery from the snapshot, as envelopes the receiver understands.
    await expect.poll(() => applied.length, { timeout: 5000 }).toBe(3);
    expect(applied).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await expect.poll(async () => (await recovered.stats()).inFlight, { timeout: 5000 }).toBe(0);
    await second.terminate();
  });
});
