/**
 * DeduplicatingEntity snapshots stay few: the newest `keepSnapshots` are kept; events go only when
 * `deleteEventsOnSnapshot` asks (projections may read them). No broker needed: deliveries are told
 * to the entity directly, as the consumer would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GetEntityState, InboundDelivery } from '../../../delivery/amqp/index.js';
import { SnapshotSelectionCriteria } from '../../../src/index.js';
import { observedStores, settleMicrotasks, Systems, type ObservedStores } from '../support/delivery-fixtures.js';
import { AccountEntity, type AccountState } from './account-entity.js';

const systems = new Systems();
afterEach(() => systems.terminateAll());

const delivery = (n: number) => new InboundDelivery(`orders:${n}`, 'orders', n, { account: 'a', n, amount: 1 }, 'credit', 'a', 1, 1);

async function snapshotsOf(plugins: ObservedStores, upTo: number): Promise<number[]> {
  const found: number[] = [];
  for (let sequenceNr = 1; sequenceNr <= upTo; sequenceNr++) {
    if (await plugins.snapshotStore.load('account-a', new SnapshotSelectionCriteria({ minSequenceNr: sequenceNr, maxSequenceNr: sequenceNr }))) found.push(sequenceNr);
  }
  return found;
}

async function storedOf(plugins: ObservedStores): Promise<number[]> {
  const found: number[] = [];
  await plugins.journal.inner.replayMessages('account-a', 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (repr) => {
    found.push(repr.sequenceNr);
  });
  return found;
}

describe('DeduplicatingEntity snapshot retention', () => {
  it('keeps the newest two snapshots and, by default, every event', async () => {
    const plugins = observedStores();
    const system = systems.start('entity-keep', plugins);
    const entity = system.actorOf(() => new AccountEntity('a', { snapshotEvery: 2 }));
    for (let n = 1; n <= 6; n++) {
      await entity.ask(delivery(n));
      await settleMicrotasks();
      await settleMicrotasks();
    }
    expect(await snapshotsOf(plugins, 6)).toEqual([4, 6]);
    expect(await storedOf(plugins)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('with deleteEventsOnSnapshot, deletes the events below the oldest kept snapshot and recovers the same state', async () => {
    const plugins = observedStores();
    const first = systems.start('entity-delete', plugins);
    const entity = first.actorOf(() => new AccountEntity('a', { snapshotEvery: 2, deleteEventsOnSnapshot: true }));
    for (let n = 1; n <= 5; n++) {
      await entity.ask(delivery(n));
      await settleMicrotasks();
      await settleMicrotasks();
    }
    const deleted = plugins.journal.deleted();
    await entity.ask(delivery(6));
    expect(await deleted).toBe(4);
    expect(await storedOf(plugins)).toEqual([5, 6]);
    const before = await entity.ask<AccountState>(GetEntityState.instance);
    await first.terminate();

    const second = systems.start('entity-delete-2', plugins);
    const again = second.actorOf(() => new AccountEntity('a', { snapshotEvery: 2, deleteEventsOnSnapshot: true }));
    expect(await again.ask<AccountState>(GetEntityState.instance)).toEqual(before);
    // A delivery applied before the deleted events is still recognised as a duplicate.
    expect(await again.ask(delivery(1))).toMatchObject({ duplicate: true });
  });
});
