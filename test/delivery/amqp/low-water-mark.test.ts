/**
 * An entity sees only some of a sender's delivery ids. Without the sender's low-water mark
 * (x-steadfast-oldest-unconfirmed) every id it saw would stay out of order in its dedup state forever;
 * with it, the state stays a high-water mark. No broker needed: deliveries are told to the entity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore, type ActorRef } from '../../../src/index.js';
import { type DeliveryApplied, InboundDelivery } from '../../../delivery/amqp/index.js';
import { AccountEntity } from './account-entity.js';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.terminate();
  system = undefined;
});

function delivery(deliveryId: number, oldestUnconfirmedId: number | undefined): InboundDelivery {
  return new InboundDelivery(`s:${deliveryId}`, 's', deliveryId, { account: 'a', n: deliveryId, amount: 1 }, 'credit', 'a', 1, 1, oldestUnconfirmedId);
}

async function feed(entity: ActorRef, withLowWater: boolean): Promise<void> {
  // The entity gets every 10th id of the sender; the sender has confirmed all but the last 5 ids.
  for (let id = 10; id <= 2000; id += 10) {
    const reply = await entity.ask<DeliveryApplied>(delivery(id, withLowWater ? id - 5 : undefined));
    expect(reply.duplicate).toBe(false);
  }
}

describe("dedup memory of an entity that sees only some of a sender's ids", () => {
  it('stays bounded when the sender reports its oldest unconfirmed id, also after recovery', async () => {
    const journal = inMemoryJournal();
    const snapshotStore = inMemorySnapshotStore();
    system = ActorSystem.create('low-water', { journal, snapshotStore });
    let instance: AccountEntity | undefined;
    const entity = system.actorOf(() => (instance = new AccountEntity('a', { snapshotEvery: 0 })), 'a');
    await feed(entity, true);
    expect(instance!.receivedDeliveries.outOfOrderCount).toBeLessThanOrEqual(1);
    // A stale copy of an id below the low-water mark is a duplicate (it was confirmed, so applied).
    expect((await entity.ask<DeliveryApplied>(delivery(1000, undefined))).duplicate).toBe(true);
    await system.terminate();

    system = ActorSystem.create('low-water-2', { journal, snapshotStore });
    let recovered: AccountEntity | undefined;
    const again = system.actorOf(() => (recovered = new AccountEntity('a', { snapshotEvery: 0 })), 'a');
    expect((await again.ask<DeliveryApplied>(delivery(2000, 1995))).duplicate).toBe(true);
    expect(recovered!.receivedDeliveries.outOfOrderCount).toBeLessThanOrEqual(1);
  });

  it('grows with every id seen when the sender does not report it (what the header prevents)', async () => {
    system = ActorSystem.create('no-low-water', { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() });
    let instance: AccountEntity | undefined;
    const entity = system.actorOf(() => (instance = new AccountEntity('a', { snapshotEvery: 0 })), 'a');
    await feed(entity, false);
    expect(instance!.receivedDeliveries.outOfOrderCount).toBe(200);
  });
});
