import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, Outbox, inMemoryJournal, inMemorySnapshotStore, type OutboundDelivery } from '../../src/index.js';
import { sqliteJournal, sqliteSnapshotStore } from '../../journal/sqlite/index.js';
import { FakeTransport } from './support/delivery-fixtures.js';
import { waitUntil } from '../support/eventually.js';

// The heap figures are only meaningful right after a full collection.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const topic = { transport: 'fake' as const, topic: 'big' };
const KiB = 1024;

/** About 64 KiB as JSON, with characters JSON escapes and multi-byte ones, different per n. */
function largePayload(n: number): { type: string; n: number; text: string } {
  return { type: 'big', n, text: `"é\n${n}`.repeat((64 * KiB) / 8) };
}

function memory(): { heap: number; buffers: number } {
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, buffers: arrayBuffers };
}

describe('large transport messages held as their JSON bytes', () => {
  const systems: ActorSystem[] = [];
  const directory = mkdtempSync(join(tmpdir(), 'steadfast-held-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((system) => system.terminate()));
  });

  function start(name: string, transport: FakeTransport, stores: Parameters<typeof ActorSystem.create>[1]): Outbox {
    const system = ActorSystem.create(name, { ...stores, transports: [transport] });
    systems.push(system);
    return Outbox.start(system, { redeliverInterval: 60_000, snapshotEvery: 50 });
  }

  it('keeps 200 unconfirmed 64 KiB payloads out of the JavaScript heap and sends their exact JSON', async () => {
    const transport = new FakeTransport();
    // On disk: an in-memory journal would hold every payload in the heap itself.
    const path = join(directory, 'held.db');
    const outbox = start('held-bytes', transport, { journal: sqliteJournal({ path }), snapshotStore: sqliteSnapshotStore({ path }) });
    await outbox.send(topic, { small: true });
    await waitUntil('transport sent 1', () => transport.sent.length >= 1, 20_000, 10);
    const before = memory();

    const count = 200;
    for (let n = 1; n <= count; n++) await outbox.send(topic, largePayload(n));
    await waitUntil('transport sent count + 1', () => transport.sent.length >= count + 1, 20_000, 10);
    const sent = transport.sent.slice(1);
    transport.sent.length = 0; // only the outbox holds the messages now
    const held = memory();

    const bytes = count * Buffer.byteLength(JSON.stringify(largePayload(1)));
    // As objects they would take at least their bytes of heap (12.8 MiB); as bytes they are Buffers.
    expect(held.buffers - before.buffers).toBeGreaterThan(0.9 * bytes);
    expect(held.heap - before.heap).toBeLessThan(0.25 * bytes);
    sent.forEach((delivery: OutboundDelivery, index) => {
      expect(JSON.parse(delivery.messageJson!.toString('utf8'))).toEqual(largePayload(index + 1));
      expect(delivery.message).toEqual(largePayload(index + 1)); // a transport that reads the value gets it
    });

    // Whoever lists the deliveries sees the payloads as values, a page at a time.
    const page = await outbox.listInFlight({ limit: 2 });
    expect(page.items.map((item) => item.message)).toEqual([{ small: true }, largePayload(1)]);
  });

  it('sends the same bytes again after a restart that recovers from a snapshot referencing the payloads', async () => {
    const stores = { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() };
    const first = new FakeTransport();
    const outbox = start('held-first', first, stores);
    for (let n = 1; n <= 60; n++) await outbox.send(topic, largePayload(n)); // a snapshot at 50
    await waitUntil('first sent 60', () => first.sent.length >= 60, 20_000, 10);
    await systems.pop()!.terminate();

    const second = new FakeTransport();
    start('held-second', second, stores);
    await waitUntil('second sent 60', () => second.sent.length >= 60, 20_000, 10);
    for (const [index, resend] of second.sent.entries()) {
      expect(resend.messageJson!.equals(first.sent[index]!.messageJson!)).toBe(true);
      expect(resend.deliveryId).toBe(first.sent[index]!.deliveryId);
    }
  });

  it('hands a small message to the transport as it is, with no bytes', async () => {
    const transport = new FakeTransport();
    const outbox = start('held-small', transport, { journal: inMemoryJournal(), snapshotStore: inMemorySnapshotStore() });
    await outbox.send(topic, { text: 'x'.repeat(1000) });
    await waitUntil('transport sent 1', () => transport.sent.length >= 1, 20_000, 10);
    expect(transport.sent[0]!.message).toEqual({ text: 'x'.repeat(1000) });
    expect(transport.sent[0]!.messageJson).toBeUndefined();
  });
});
