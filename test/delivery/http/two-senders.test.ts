/**
 * Two services, both with an outbox named `outbox` on stores of their own, deliver over HTTP to one
 * receiver that deduplicates by `Idempotency-Key` (what HTTP receivers do): every message of both is
 * applied exactly once, and so are the messages of a store created anew, whose delivery ids start at 1
 * again. Before sender identities, every node sent `outbox:1`, and the receiver dropped all but one.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, Outbox, inMemoryJournal, inMemorySnapshotStore } from '../../../src/index.js';
import { httpDestination, httpTransport } from '../../../delivery/http/index.js';
import { eventually } from '../../support/eventually.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A receiver that applies each Idempotency-Key once and answers 200 to duplicates too. */
async function deduplicatingReceiver() {
  const seen = new Set<string>();
  const applied: unknown[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const key = String(request.headers['idempotency-key']);
      if (!seen.has(key)) {
        seen.add(key);
        applied.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen, applied };
}

function service(name: string) {
  const system = ActorSystem.create(name, { journal: inMemoryJournal({ logger: silent }), snapshotStore: inMemorySnapshotStore(), logger: silent, transports: [httpTransport()] });
  cleanups.push(() => system.terminate());
  return { system, outbox: Outbox.start(system, { redeliverInterval: 500 }) };
}

describe('two senders over HTTP, one deduplicating receiver', () => {
  it('applies every message of two services named alike, and of a store created anew', async () => {
    const receiver = await deduplicatingReceiver();
    const billing = service('billing');
    const shipping = service('shipping');
    for (let i = 1; i <= 5; i++) {
      await billing.outbox.send(httpDestination(receiver.url), { from: 'billing', i });
      await shipping.outbox.send(httpDestination(receiver.url), { from: 'shipping', i });
    }
    for (const { outbox } of [billing, shipping])
      await eventually(
        () => outbox.stats(),
        (s) => s.confirmed === 5,
        20_000,
        'five confirmed',
      );

    const recreated = service('billing-recreated');
    for (let i = 1; i <= 5; i++) expect((await recreated.outbox.send(httpDestination(receiver.url), { from: 'billing, re-created', i })).deliveryId).toBe(i);
    await eventually(
      () => recreated.outbox.stats(),
      (s) => s.confirmed === 5,
      20_000,
      'five confirmed after the store was re-created',
    );

    expect(receiver.applied).toHaveLength(15);
    expect(new Set(receiver.applied.map((payload) => JSON.stringify(payload))).size).toBe(15);
    // Three senders, each keyed outbox@<its store id>:<delivery id>.
    const senders = new Set([...receiver.seen].map((key) => key.slice(0, key.lastIndexOf(':'))));
    expect(senders.size).toBe(3);
    for (const senderId of senders) expect(senderId).toMatch(/^outbox@[\w-]{16}$/);
  });
});
