/**
 * Outbox pages with `where`: only the matching deliveries are listed and counted, paging runs over the
 * matches, a filter on the other fields parses no payload, and `nextAttemptAt` says when a delivery
 * sent and not confirmed is due again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, Outbox } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { Systems, observedStores } from './support/delivery-fixtures.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

describe('Outbox.listInFlight with where', () => {
  it('lists and counts the matches only, a page at a time, and tells when each is due again', async () => {
    const system = systems.start('list-filter', observedStores());
    TestProbe.create(system, 'a');
    TestProbe.create(system, 'b');
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    for (let n = 1; n <= 5; n++) await outbox.send(n % 2 === 0 ? '/user/b' : '/user/a', { n });
    const sentAt = Date.now();

    const toA = (delivery: { destination: unknown }) => delivery.destination === '/user/a';
    const first = await outbox.listInFlight({ where: toA, limit: 2 });
    expect(first).toMatchObject({ total: 3, nextAfter: 3 });
    expect(first.items.map((d) => d.deliveryId)).toEqual([1, 3]);
    const second = await outbox.listInFlight({ where: toA, limit: 2, after: first.nextAfter! });
    expect(second).toMatchObject({ total: 3, nextAfter: undefined });
    expect(second.items.map((d) => d.deliveryId)).toEqual([5]);
    expect((await outbox.listInFlight({ where: () => false })).total).toBe(0);

    const [delivery] = first.items;
    expect(delivery!.attempt).toBe(1);
    // Due one redeliverInterval after its first send (the test's clock read is a bit later than that send).
    expect(delivery!.nextAttemptAt).toBeGreaterThan(sentAt + 60_000 - 5_000);
    expect(delivery!.nextAttemptAt).toBeLessThanOrEqual(Date.now() + 60_000 + 50);
  });

  it('filters dead letters the same way, and refuses a where that is not a function', async () => {
    const system = systems.start('list-filter-dead', observedStores());
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    expect((await outbox.listDeadLetters({ where: () => true })).total).toBe(0);
    expect(() => outbox.listInFlight({ where: 'a' as never })).toThrow(InvalidOptionError);
  });
});
