import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, MaxUnconfirmedMessagesExceededError, Outbox, inMemoryJournal, inMemorySnapshotStore } from '../../src/index.js';

/** Never confirms: every delivery stays unconfirmed. */
class Silent extends Actor {
  receive(): void {}
}

describe('outbox back-pressure', () => {
  it('refuses a send past maxUnconfirmedMessages before persisting it, and recovers what it accepted', async () => {
    const journal = inMemoryJournal();
    const snapshotStore = inMemorySnapshotStore();
    const first = ActorSystem.create('bp1', { journal, snapshotStore });
    first.actorOf(() => new Silent(), 'silent');
    const outbox = Outbox.start(first, { maxUnconfirmedMessages: 2, redeliverInterval: 60_000 });
    // Two sends in flight at once: the second is counted while its event is still being persisted.
    const [a, b] = await Promise.all([outbox.send('/user/silent', { n: 1 }), outbox.send('/user/silent', { n: 2 })]);
    expect([a.deliveryId, b.deliveryId]).toEqual([1, 2]);
    await expect(outbox.send('/user/silent', { n: 3 })).rejects.toBeInstanceOf(MaxUnconfirmedMessagesExceededError);
    expect((await outbox.stats()).accepted).toBe(2);
    await first.terminate();

    // A lower limit after a restart must not make recovery fail: accepted deliveries are kept.
    const second = ActorSystem.create('bp2', { journal, snapshotStore });
    second.actorOf(() => new Silent(), 'silent');
    const recovered = Outbox.start(second, { maxUnconfirmedMessages: 1, redeliverInterval: 60_000 });
    const inFlight = await recovered.inFlight();
    expect(inFlight.map((delivery) => delivery.deliveryId)).toEqual([1, 2]);
    await expect(recovered.send('/user/silent', { n: 4 })).rejects.toBeInstanceOf(MaxUnconfirmedMessagesExceededError);
    await second.terminate();
  });
});
