/**
 * The opt-in extensions beyond Akka, through the outbox: exponential redelivery backoff, hand-off to
 * dead letters after N attempts (persisted, listed, redriven), and idempotency keys across a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ActorSystem, DeliveryConfirmed, DeliveryEnvelope, Outbox, inMemoryJournal, inMemorySnapshotStore } from '../../src/index.js';

/** Records arrival times; confirms only once `accepting` is set. */
class Flaky extends Actor {
  constructor(private readonly arrivals: { at: number; id: number }[], private readonly accepting: () => boolean) {
    super();
  }
  receive(message: unknown): void {
    if (!(message instanceof DeliveryEnvelope)) return;
    this.arrivals.push({ at: performance.now(), id: message.deliveryId });
    if (this.accepting()) this.sender.tell(new DeliveryConfirmed(message.deliveryId));
  }
}

let systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.map((system) => system.terminate()));
  systems = [];
});

function system(name: string, stores = { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() }): ActorSystem {
  const created = ActorSystem.create(name, stores);
  systems.push(created);
  return created;
}

describe('Outbox opt-in delivery extensions', () => {
  it('backs off exponentially between attempts when redeliveryBackoff is set', async () => {
    const arrivals: { at: number; id: number }[] = [];
    const sys = system('backoff');
    sys.actorOf(() => new Flaky(arrivals, () => false), 'receiver');
    const outbox = Outbox.start(sys, { redeliverInterval: 40, redeliveryBackoff: { maxInterval: 2000, randomFactor: 0 } });
    await outbox.send('/user/receiver', { n: 1 });
    await expect.poll(() => arrivals.length, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    const gaps = arrivals.slice(1, 5).map((arrival, i) => arrival.at - arrivals[i]!.at);
    // Nominal 40, 80, 160, 320 ms (the tick runs every 20 ms, so each gap may be up to ~20 ms late).
    [40, 80, 160, 320].forEach((nominal, i) => expect(gaps[i]).toBeGreaterThanOrEqual(nominal - 5));
    expect(gaps[3]!).toBeGreaterThan(gaps[1]! * 2);
  });

  it('dead-letters a delivery after deadLetterAfterAttempts, persists that, and redrives it on request', async () => {
    const arrivals: { at: number; id: number }[] = [];
    let accepting = false;
    const stores = { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() };
    const first = system('dead-1', stores);
    first.actorOf(() => new Flaky(arrivals, () => accepting), 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 30, deadLetterAfterAttempts: 3 });
    const { deliveryId } = await outbox.send('/user/receiver', { n: 1 });
    await expect.poll(async () => (await outbox.deadLetters()).length, { timeout: 5000 }).toBe(1);
    const [dead] = await outbox.deadLetters();
    expect(dead).toMatchObject({ deliveryId, payload: { n: 1 }, attempts: 3 });
    expect(arrivals).toHaveLength(3);
    expect(await outbox.status(deliveryId)).toMatchObject({ status: 'dead-lettered' });
    await first.terminate();

    // The hand-off was persisted: a restart neither resends it nor forgets it.
    const second = system('dead-2', stores);
    second.actorOf(() => new Flaky(arrivals, () => accepting), 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 30, deadLetterAfterAttempts: 3 });
    expect((await recovered.deadLetters()).map((d) => d.deliveryId)).toEqual([deliveryId]);
    expect((await recovered.stats()).inFlight).toBe(0);
    accepting = true;
    const redriven = await recovered.redrive(deliveryId);
    expect(redriven).toEqual([deliveryId]);
    await expect.poll(async () => (await recovered.stats()).confirmed, { timeout: 5000 }).toBe(1);
    expect(await recovered.deadLetters()).toEqual([]);
    // Redriven under a new delivery id, so a receiver that deduplicates applies it.
    expect(arrivals[arrivals.length - 1]!.id).toBeGreaterThan(deliveryId);
  });

  it('answers a retried idempotency key with the first delivery id, also after a restart', async () => {
    const stores = { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() };
    const first = system('idem-1', stores);
    first.actorOf(() => new Flaky([], () => true), 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000 });
    const concurrent = await Promise.all([1, 2, 3].map(() => outbox.send('/user/receiver', { order: 7 }, { idempotencyKey: 'order-7' })));
    expect(new Set(concurrent.map((result) => result.deliveryId)).size).toBe(1);
    expect(concurrent.filter((result) => !result.duplicate)).toHaveLength(1);
    await first.terminate();

    const second = system('idem-2', stores);
    second.actorOf(() => new Flaky([], () => true), 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000 });
    expect(await recovered.send('/user/receiver', { order: 7 }, { idempotencyKey: 'order-7' })).toEqual({ deliveryId: concurrent[0]!.deliveryId, duplicate: true });
    expect((await recovered.stats()).accepted).toBe(1);
  });
});
