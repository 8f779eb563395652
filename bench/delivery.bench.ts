/**
 * Local at-least-once delivery: outbox send (persisted) → receiver actor → DeliveryConfirmed →
 * confirmation persisted, with each journal; and how fast an outbox with 100 000 unconfirmed
 * deliveries comes back from a snapshot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import {
  Actor,
  ActorSystem,
  DeliveryConfirmed,
  DeliveryEnvelope,
  inMemoryJournal,
  inMemorySnapshotStore,
  Outbox,
  SnapshotSelectionCriteria,
  type AsyncWriteJournal,
  type SnapshotStore,
} from '../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../journal/postgres/index.js';
import { sqliteJournal, sqliteSnapshotStore } from '../journal/sqlite/index.js';
import { timedJournal } from '../service/journal-timing.js';
import { ServiceMetrics } from '../service/metrics.js';
import { elapsedMsSince, perSecond, type Benchmark, type BenchResult } from './harness.js';

const silent = pino({ level: 'silent' });
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MESSAGES = 20_000;
const WINDOW = 1000;

/** Confirms every envelope at once. */
export class Confirmer extends Actor {
  receive(message: unknown): void {
    if (message instanceof DeliveryEnvelope) this.sender.tell(new DeliveryConfirmed(message.deliveryId));
  }
}

/** Never confirms. */
export class Silent extends Actor {
  receive(): void {}
}

interface Stores {
  journal: AsyncWriteJournal;
  snapshotStore: SnapshotStore;
  cleanup(): Promise<void>;
}

function memoryStores(): Stores {
  return { journal: inMemoryJournal({ logger: silent }), snapshotStore: inMemorySnapshotStore(), cleanup: async () => {} };
}

function sqliteStores(): Stores {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-delivery-'));
  const path = join(dir, 'outbox.db');
  return {
    journal: sqliteJournal({ path }),
    snapshotStore: sqliteSnapshotStore({ path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresStores(): Promise<Stores> {
  const schema = `sf_bench_delivery_${process.pid}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`drop schema if exists "${schema}" cascade`);
  return {
    journal: postgresJournal({ connectionString: PG_URL, schema }),
    snapshotStore: postgresSnapshotStore({ connectionString: PG_URL, schema }),
    cleanup: async () => {
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    },
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Messages/s from the first send until every confirmation is persisted (the outbox reports none in flight).
 * `withMetrics`: wired as the service wires it (its metrics as the outbox's observer, the journal timed).
 */
async function throughput(label: string, stores: Stores, withMetrics = false): Promise<BenchResult> {
  const metrics = withMetrics ? new ServiceMetrics() : undefined;
  const journal = metrics === undefined ? stores.journal : timedJournal(stores.journal, metrics.journalTimings);
  const system = ActorSystem.create('bench-delivery', { journal, snapshotStore: stores.snapshotStore, logger: silent });
  try {
    system.actorOf(() => new Confirmer(), 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 30_000, snapshotEvery: 10_000, ...(metrics === undefined ? {} : { observer: metrics.outboxObserver }) });
    await outbox.send('/user/receiver', { warmup: true });
    await waitUntil(async () => (await outbox.stats()).inFlight === 0);
    const start = process.hrtime.bigint();
    for (let sent = 0; sent < MESSAGES; sent += WINDOW) {
      await Promise.all(Array.from({ length: Math.min(WINDOW, MESSAGES - sent) }, (_, i) => outbox.send('/user/receiver', { n: sent + i }, {})));
    }
    await waitUntil(async () => {
      const stats = await outbox.stats();
      return stats.inFlight === 0 && stats.confirmed === MESSAGES + 1;
    });
    const ms = elapsedMsSince(start);
    return { name: `outbox → actor → confirmation persisted, ${label}`, value: perSecond(MESSAGES, ms), unit: 'messages/s' };
  } finally {
    await system.terminate();
    metrics?.close();
    await stores.cleanup();
  }
}

async function recoveryFromSnapshot(): Promise<BenchResult> {
  const count = 100_000;
  const journal = inMemoryJournal({ logger: silent });
  const snapshotStore = inMemorySnapshotStore();
  const options = { redeliverInterval: 60_000, snapshotEvery: count, maxUnconfirmedMessages: count + 1 };
  const first = ActorSystem.create('bench-outbox-1', { journal, snapshotStore, logger: silent });
  first.actorOf(() => new Silent(), 'receiver');
  const outbox = Outbox.start(first, options);
  for (let sent = 0; sent < count; sent += WINDOW) {
    await Promise.all(Array.from({ length: WINDOW }, (_, i) => outbox.send('/user/receiver', { n: sent + i })));
  }
  await waitUntil(async () => (await journal.readHighestSequenceNr('outbox', 0)) >= count && (await snapshotStore.load('outbox', SnapshotSelectionCriteria.latest)) !== undefined);
  await first.terminate();

  const second = ActorSystem.create('bench-outbox-2', { journal, snapshotStore, logger: silent });
  try {
    second.actorOf(() => new Silent(), 'receiver');
    // From a collected heap, as a restarted process starts: the first system's garbage is not this
    // recovery's to collect. (It still runs in the process that wrote the snapshot, which a restart does
    // not: see bench/README.md, 2026-12-08, for what that does to the snapshot's JSON.parse.)
    globalThis.gc?.();
    const start = process.hrtime.bigint();
    const recovered = Outbox.start(second, options);
    // `stats` is answered once recovery completed (commands wait for it).
    const stats = await recovered.stats();
    const ms = elapsedMsSince(start);
    if (stats.inFlight !== count) throw new Error(`recovered ${stats.inFlight} unconfirmed deliveries, expected ${count}`);
    return { name: 'outbox recovery, 100 000 unconfirmed, from a snapshot', value: ms, unit: 'ms', target: '< 1000 ms', meetsTarget: ms < 1000 };
  } finally {
    await second.terminate();
  }
}

export const benchmarks: Benchmark[] = [
  { name: 'delivery: in-memory journal', run: async () => [await throughput('in-memory journal', memoryStores())] },
  { name: 'delivery: SQLite journal', run: async () => [await throughput('SQLite journal', sqliteStores())] },
  // The same, as the service runs it: the cost of its metrics, measured next to the bare figures.
  { name: 'delivery: in-memory journal, service metrics', run: async () => [await throughput('in-memory journal, service metrics', memoryStores(), true)] },
  { name: 'delivery: SQLite journal, service metrics', run: async () => [await throughput('SQLite journal, service metrics', sqliteStores(), true)] },
  { name: 'delivery: PostgreSQL journal', needs: ['postgres'], run: async () => [await throughput('PostgreSQL journal', await postgresStores())] },
  { name: 'delivery: outbox recovery from snapshot', run: async () => [await recoveryFromSnapshot()] },
];
