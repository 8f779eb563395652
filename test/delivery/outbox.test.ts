import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, DeliveryConfirmed, DeliveryEnvelope, Outbox, inMemoryJournal, inMemorySnapshotStore } from '../../src/index.js';

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
