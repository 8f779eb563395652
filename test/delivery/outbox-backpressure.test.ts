import { describe, expect, it } from 'vitest';
import {
  Actor,
  ActorSystem,
  DeliveryConfirmed,
  DeliveryEnvelope,
  MaxUnconfirmedBytesExceededError,
  MaxUnconfirmedMessagesExceededError,
  Outbox,
  inMemoryJournal,
  inMemorySnapshotStore,
  type OutboxEvent,
} from '../../src/index.js';
import { jsonByteLength } from '../../delivery/json-byte-length.js';
import type { JsonValue } from '../../delivery/transport.js';
import { TestProbe } from '../../journal/testkit/index.js';
import { observedStores, settleMicrotasks, systemsWithClock } from './support/delivery-fixtures.js';

const isEnvelope = (message: unknown): message is DeliveryEnvelope => message instanceof DeliveryEnvelope;

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

describe('outbox back-pressure on redrive', () => {
  const { systems, installClock } = systemsWithClock();

  it('refuses a redrive past maxUnconfirmedMessages before persisting it, counting redrives still being persisted, and keeps the dead letters', async () => {
    const manual = installClock();
    const plugins = observedStores();
    const system = systems.start('bp-redrive', plugins);
    const receiver = TestProbe.create(system, 'receiver');
    const outbox = Outbox.start(system, { maxUnconfirmedMessages: 2, redeliverInterval: 100, deadLetterAfterAttempts: 1, askTimeoutMs: 5000 });
    await outbox.send('/user/receiver', { n: 1 });
    await outbox.send('/user/receiver', { n: 2 });
    await receiver.receiveN(2);
    const bothDeadLettered = plugins.journal.stored((event) => (event as OutboxEvent)?.type === 'dead-lettered' && (event as { deliveryId: number }).deliveryId === 2);
    manual.advance(100);
    await bothDeadLettered;
    await settleMicrotasks();
    expect((await outbox.send('/user/receiver', { n: 3 })).deliveryId).toBe(3); // one unconfirmed: room for one more
    await receiver.expectMsg(isEnvelope);

    const refusal = await outbox.redrive().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MaxUnconfirmedMessagesExceededError);
    expect(refusal).toMatchObject({ code: 'ERR_MAX_UNCONFIRMED_EXCEEDED', maxUnconfirmedMessages: 2 });
    // Two at once: the first takes the last place while its event is still being persisted.
    const [first, second] = await Promise.allSettled([outbox.redrive(1), outbox.redrive(2)]);
    expect(first).toEqual({ status: 'fulfilled', value: [1] });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'ERR_MAX_UNCONFIRMED_EXCEEDED' } });

    expect(await receiver.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope('outbox', 4, { n: 1 }));
    expect((await outbox.deadLetters()).map((d) => d.deliveryId)).toEqual([2]);
    expect((await outbox.inFlight()).map((d) => d.deliveryId)).toEqual([3, 4]);
    expect((await plugins.journal.events('outbox')).filter((event) => (event as OutboxEvent).type === 'redriven')).toEqual([{ type: 'redriven', deliveryIds: [1] }]);
    await receiver.expectNoMessage(100); // no restart: a recovered outbox would send 3 and 4 again

    // Once a delivery is confirmed there is room again.
    const confirmed = plugins.journal.stored((event) => (event as OutboxEvent)?.type === 'confirmed');
    receiver.reply(new DeliveryConfirmed(4));
    await confirmed;
    await settleMicrotasks();
    expect(await outbox.redrive(2)).toEqual([2]);
    expect(await receiver.expectMsg(isEnvelope)).toEqual(new DeliveryEnvelope('outbox', 5, { n: 2 }));
  });
});

describe('outbox byte budget (maxUnconfirmedBytes)', () => {
  const bytesOf = (payload: unknown): number => Buffer.byteLength(JSON.stringify(payload));

  it('refuses a send whose payload would pass the budget, counting sends still being persisted, frees it on confirmation and rebuilds it on recovery', async () => {
    const plugins = observedStores();
    const first = ActorSystem.create('bytes-1', plugins);
    const receiver = TestProbe.create(first, 'receiver');
    const payload = { text: 'é'.repeat(20) }; // 2 bytes a character in UTF-8: bytes, not characters, count
    const size = bytesOf(payload);
    const outbox = Outbox.start(first, { maxUnconfirmedBytes: 2 * size + 5, redeliverInterval: 60_000 });
    const [a, b] = await Promise.all([outbox.send('/user/receiver', payload), outbox.send('/user/receiver', payload)]);
    expect([a.deliveryId, b.deliveryId]).toEqual([1, 2]);
    const refusal = await outbox.send('/user/receiver', payload).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MaxUnconfirmedBytesExceededError);
    expect(refusal).toBeInstanceOf(MaxUnconfirmedMessagesExceededError); // handled alike (the service: 429)
    expect(refusal).toMatchObject({ code: 'ERR_MAX_UNCONFIRMED_BYTES_EXCEEDED', maxUnconfirmedBytes: 2 * size + 5, unconfirmedBytes: 2 * size, refusedBytes: size });
    // A smaller one still fits.
    expect((await outbox.send('/user/receiver', 'ok')).deliveryId).toBe(3);
    expect(await outbox.stats()).toMatchObject({ accepted: 3, inFlight: 3, inFlightBytes: 2 * size + 4 });

    await receiver.receiveN(3);
    const confirmed = plugins.journal.stored((event) => (event as OutboxEvent)?.type === 'confirmed');
    receiver.reply(new DeliveryConfirmed(1));
    await confirmed;
    await settleMicrotasks();
    expect((await outbox.stats()).inFlightBytes).toBe(size + 4);
    await first.terminate();

    const second = ActorSystem.create('bytes-2', plugins);
    TestProbe.create(second, 'receiver');
    const recovered = Outbox.start(second, { maxUnconfirmedBytes: 2 * size + 5, redeliverInterval: 60_000 });
    expect((await recovered.stats()).inFlightBytes).toBe(size + 4);
    expect((await recovered.send('/user/receiver', payload)).deliveryId).toBe(4);
    await expect(recovered.send('/user/receiver', payload)).rejects.toBeInstanceOf(MaxUnconfirmedBytesExceededError);
    await second.terminate();
  });
});

describe('payload size as the byte budget counts it', () => {
  it('is the UTF-8 length of the payload as JSON, without building the JSON', () => {
    const samples: JsonValue[] = [
      null,
      true,
      false,
      0,
      -1.5e-7,
      123456789012,
      '',
      'plain',
      'quote " backslash \\ newline \n tab \t bell \u0007',
      'é 漢字 😀',
      'lone \ud800 surrogate',
      [],
      [1, 'two', [null, {}]],
      { a: 1, 'ké"y': ['x', { nested: true }], empty: {} },
    ];
    for (const sample of samples) expect(jsonByteLength(sample)).toBe(Buffer.byteLength(JSON.stringify(sample)));
  });
});
