/**
 * Idempotency keys remember what they were used for: the same key with the same request is a duplicate
 * (same id, nothing sent), with another destination or payload it is refused — never answered as a
 * duplicate that drops the new content. Across replay and snapshots; keys recorded before requests were
 * hashed keep answering as duplicates.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryEnvelope, IdempotencyKeyReusedError, Outbox } from '../../src/index.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { observedStores, systemsWithClock } from './support/delivery-fixtures.js';

const { systems, installClock } = systemsWithClock();
const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;

describe('Outbox idempotency keys', () => {
  it('answers the same request as a duplicate and refuses another one under the same key, also after replay and from a snapshot', async () => {
    installClock();
    const plugins = observedStores();
    const first = systems.start('keys-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 2 });
    expect(await outbox.send('/user/receiver', { order: 1, lines: [1, 2] }, { idempotencyKey: 'a' })).toEqual({ deliveryId: 1, duplicate: false });
    // Field order does not matter: the request is compared in a canonical form.
    expect(await outbox.send('/user/receiver', { lines: [1, 2], order: 1 }, { idempotencyKey: 'a' })).toEqual({ deliveryId: 1, duplicate: true });
    const reused = await outbox.send('/user/receiver', { order: 2, lines: [1, 2] }, { idempotencyKey: 'a' }).catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(reused).toMatchObject({ code: 'ERR_IDEMPOTENCY_KEY_REUSED', idempotencyKey: 'a', deliveryId: 1 });
    await expect(outbox.send('/user/other', { order: 1, lines: [1, 2] }, { idempotencyKey: 'a' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    const saved = plugins.snapshotStore.saved();
    await outbox.send('/user/receiver', { order: 3 }, { idempotencyKey: 'b' }); // event 2: a snapshot holds both keys
    expect(await saved).toBe(2);
    await outbox.send('/user/receiver', { order: 4 }, { idempotencyKey: 'c' }); // event 3: replayed after it
    await receiver.receiveN(3);
    await first.terminate();

    const second = systems.start('keys-2', plugins);
    TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000, snapshotEvery: 2 });
    expect(await recovered.send('/user/receiver', { order: 1, lines: [1, 2] }, { idempotencyKey: 'a' })).toEqual({ deliveryId: 1, duplicate: true });
    await expect(recovered.send('/user/receiver', { order: 9 }, { idempotencyKey: 'a' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(recovered.send('/user/receiver', { order: 9 }, { idempotencyKey: 'c' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await recovered.stats()).toMatchObject({ accepted: 3 });
  });

  it('refuses another request under a key whose first request is still being persisted', async () => {
    installClock();
    const plugins = observedStores();
    const system = systems.start('keys-pending', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    await outbox.stats(); // recovered
    const gate = plugins.journal.holdWrites({ persistenceId: 'outbox' });
    const firstSend = outbox.send('/user/receiver', { n: 1 }, { idempotencyKey: 'k' });
    const retry = outbox.send('/user/receiver', { n: 1 }, { idempotencyKey: 'k' });
    const other = outbox.send('/user/receiver', { n: 2 }, { idempotencyKey: 'k' }).catch((error: unknown) => error);
    expect(await other).toMatchObject({ code: 'ERR_IDEMPOTENCY_KEY_REUSED', deliveryId: undefined });
    gate.release();
    expect(await firstSend).toEqual({ deliveryId: 1, duplicate: false });
    expect(await retry).toEqual({ deliveryId: 1, duplicate: true });
    expect(await receiver.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope('outbox', 1, { n: 1 }));
    await receiver.expectNoMessage(50);
  });

  it('keeps answering keys from snapshots written before requests were hashed as duplicates', async () => {
    installClock();
    const plugins = observedStores();
    const first = systems.start('keys-old-1', plugins);
    TestProbe.create(first, 'receiver');
    const outbox = Outbox.start(first, { redeliverInterval: 60_000, snapshotEvery: 1 });
    const saved = plugins.snapshotStore.saved();
    await outbox.send('/user/receiver', { n: 1 }, { idempotencyKey: 'old' });
    await saved;
    await first.terminate();
    // The 0.1 snapshot format: [key, deliveryId] pairs.
    await plugins.snapshotStore.rewriteLatest('outbox', (snapshot) => ({
      ...snapshot,
      idempotencyKeys: (snapshot.idempotencyKeys as [string, number, string][]).map(([key, id]) => [key, id]),
    }));

    const second = systems.start('keys-old-2', plugins);
    TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { redeliverInterval: 60_000, snapshotEvery: 1 });
    expect(await recovered.send('/user/receiver', { n: 2 }, { idempotencyKey: 'old' })).toEqual({ deliveryId: 1, duplicate: true });
  });
});
