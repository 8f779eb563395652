/**
 * What the outbox costs to hold (issue 15): heap per unconfirmed delivery, the size of the SQLite file
 * once everything is confirmed (against the bound database + WAL <= 3 x (unconfirmed payload bytes +
 * idempotency records kept) + 16 MB), and a run with 100 KB payloads and the destination down (RSS,
 * snapshot failures, 429s past the byte budget). All on the service's defaults: SQLite journal and
 * snapshots in one file, snapshotEvery 1000, keepSnapshots 2, maxIdempotencyKeys 100 000,
 * maxUnconfirmedBytes 256 MiB. The 100 KB run is a child process of its own, so that its RSS is its own.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ActorSystem, MaxUnconfirmedMessagesExceededError, Outbox, type DeliveryTransport, type Destination } from '../src/index.js';
import { sqliteJournal, sqliteSnapshotStore } from '../journal/sqlite/index.js';
import { httpTransport } from '../delivery/http/index.js';
import { loadConfig } from '../service/config.js';
import { applyHeapPolicy } from '../service/heap-policy.js';
import { Confirmer, Silent } from './delivery.bench.js';
import type { Benchmark, BenchResult } from './harness.js';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const WINDOW = 1000;

/** Takes every send and never confirms (a destination that accepts but whose confirmations never come). */
function swallowingTransport(): DeliveryTransport {
  return { name: 'http', validateDestination: () => {}, start: async () => {}, send: async () => {}, close: async () => {} };
}

function fileBytes(path: string): number {
  const size = (file: string): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function sqliteSystem(name: string, logger = silent, transports: DeliveryTransport[] = []): { system: ActorSystem; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-storage-'));
  const path = join(dir, 'steadfast.db');
  const system = ActorSystem.create(name, { journal: sqliteJournal({ path }), snapshotStore: sqliteSnapshotStore({ path }), logger, transports });
  return { system, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function heapAfterGc(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap per unconfirmed delivery, 16-byte payloads, to an actor or a transport that never confirms. */
async function heapPerUnconfirmed(count: number, to: 'actor' | 'transport'): Promise<BenchResult> {
  const { system, cleanup } = sqliteSystem('bench-heap', silent, to === 'transport' ? [swallowingTransport()] : []);
  try {
    system.actorOf(() => new Silent(), 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 600_000 });
    const destination = (to === 'actor' ? '/user/receiver' : { transport: 'http', url: 'http://127.0.0.1:9/hook' }) as Destination;
    await outbox.send(destination, { warm: 'up' });
    const before = heapAfterGc();
    for (let sent = 1; sent < count; sent += WINDOW) {
      // {"n":1000001} is 13 bytes; the 16-byte payload: {"n":"100000001"}
      await Promise.all(Array.from({ length: Math.min(WINDOW, count - sent) }, (_, i) => outbox.send(destination, { n: String(1e8 + sent + i) })));
    }
    const stats = await outbox.stats();
    await sleep(200); // the last snapshot's save settles
    const after = heapAfterGc();
    if (stats.inFlight !== count) throw new Error(`expected ${count} in flight, got ${stats.inFlight}`);
    const perMessage = (after - before) / (count - 1);
    return {
      name: `heap per unconfirmed delivery, 16-byte payload, to ${to === 'actor' ? 'an actor path' : 'a transport destination'} (${count.toLocaleString('en-US')} in flight, SQLite)`,
      value: Math.round(perMessage),
      unit: 'bytes/delivery',
      target: '<= 1024',
      meetsTarget: perMessage <= 1024,
    };
  } finally {
    await system.terminate();
    cleanup();
  }
}

/** `count` small messages with idempotency keys, all confirmed; the file once a checkpoint ran. */
async function fileAfterConfirmedRun(count: number): Promise<BenchResult[]> {
  const { system, path, cleanup } = sqliteSystem('bench-file');
  try {
    system.actorOf(() => new Confirmer(), 'receiver');
    const outbox = Outbox.start(system, { redeliverInterval: 30_000 });
    let peak = 0;
    for (let sent = 0; sent < count; sent += WINDOW) {
      await Promise.all(
        Array.from({ length: Math.min(WINDOW, count - sent) }, (_, i) => outbox.send('/user/receiver', { n: sent + i, text: 'hello' }, { idempotencyKey: `order-${sent + i}` })),
      );
      if (sent % (10 * WINDOW) === 0) peak = Math.max(peak, fileBytes(path));
    }
    for (;;) {
      const stats = await outbox.stats();
      if (stats.confirmed === count && stats.inFlight === 0) break;
      await sleep(20);
    }
    // Idle now: the trailing checkpoint, the page reclamation and the WAL truncation follow by themselves.
    let bytes = fileBytes(path);
    for (let waited = 0; waited < 60_000; waited += 500) {
      await sleep(500);
      const now = fileBytes(path);
      if (now === bytes && waited >= 3000) break;
      bytes = now;
    }
    const keysKept = Math.min(count, 100_000);
    const keyRecordBytes = Buffer.byteLength(JSON.stringify(Array.from({ length: keysKept }, (_, i) => [`order-${count - keysKept + i}`, count - keysKept + i + 1])));
    const bound = 3 * (0 + keyRecordBytes) + 16 * MiB;
    const label = `${count.toLocaleString('en-US')} messages with keys, all confirmed`;
    return [
      {
        name: `SQLite database + WAL after ${label}, then idle (bound 3 x (0 unconfirmed + ${(keyRecordBytes / MiB).toFixed(1)} MB keys) + 16 MB)`,
        value: Math.round((bytes / MiB) * 10) / 10,
        unit: 'MB',
        baseline: Math.round((bound / MiB) * 10) / 10,
        ratio: bytes / bound,
        target: '<= bound',
        meetsTarget: bytes <= bound,
      },
      { name: `SQLite database + WAL, largest seen during the run (${label})`, value: Math.round((peak / MiB) * 10) / 10, unit: 'MB' },
    ];
  } finally {
    await system.terminate();
    cleanup();
  }
}

interface SendReport {
  readonly accepted: number;
  readonly refused: number;
  readonly snapshotFailures: number;
  readonly peakRssMiB: number;
  readonly heapAfterGcMiB: number;
  readonly fileMiB: number;
}

interface RecoveryReport {
  readonly peakRssMiB: number;
  readonly inFlight: number;
  readonly ms: number;
}

function rssSampler(): { peak(): number; stop(): void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return { peak: () => Math.max(peak, process.memoryUsage().rss) / MiB, stop: () => clearInterval(timer) };
}

function countingSnapshotFailures(): { logger: pino.Logger; failures(): number } {
  let failures = 0;
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _encoding, done) {
        if (String(chunk).includes('outbox snapshot failed')) failures++;
        done();
      },
    }),
  );
  return { logger, failures: () => failures };
}

/** A local port nothing listens on: every request to it is refused at once. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Child: 100 KB payloads over HTTP to a destination that is down (its port refuses), past the byte
 * budget, as the service sends them.
 */
async function sendLargePayloads(path: string, count: number): Promise<SendReport> {
  const snapshots = countingSnapshotFailures();
  const system = ActorSystem.create('bench-large', {
    journal: sqliteJournal({ path }),
    snapshotStore: sqliteSnapshotStore({ path }),
    logger: snapshots.logger,
    transports: [httpTransport()],
  });
  const destination = { transport: 'http' as const, url: `http://127.0.0.1:${await refusingPort()}/down` };
  const rss = rssSampler();
  try {
    const outbox = Outbox.start(system, { redeliverInterval: 1000, redeliveryBackoff: { maxInterval: 60_000 }, snapshotEvery: 1000 });
    const text = 'x'.repeat(100 * 1024 - 12);
    let accepted = 0;
    let refused = 0;
    for (let sent = 0; sent < count; sent += 100) {
      // Parsed, as the service gets them from request bodies: every payload its own string.
      const results = await Promise.allSettled(
        Array.from({ length: Math.min(100, count - sent) }, (_, i) => outbox.send(destination, JSON.parse(JSON.stringify({ n: sent + i, text })) as { n: number; text: string })),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') accepted++;
        else if (result.reason instanceof MaxUnconfirmedMessagesExceededError) refused++;
        else throw result.reason;
      }
    }
    await sleep(3000); // redeliveries and the last snapshot
    return { accepted, refused, snapshotFailures: snapshots.failures(), peakRssMiB: rss.peak(), heapAfterGcMiB: heapAfterGc() / MiB, fileMiB: fileBytes(path) / MiB };
  } finally {
    rss.stop();
    await system.terminate();
  }
}

/** Child: a restart on the file the sends left; the payloads come back from the journal. */
async function recoverLargePayloads(path: string): Promise<RecoveryReport> {
  const system = ActorSystem.create('bench-large-2', {
    journal: sqliteJournal({ path }),
    snapshotStore: sqliteSnapshotStore({ path }),
    logger: silent,
    transports: [httpTransport()],
  });
  const rss = rssSampler();
  try {
    const started = performance.now();
    const outbox = Outbox.start(system, { redeliverInterval: 600_000, askTimeoutMs: 120_000 });
    const { inFlight } = await outbox.stats();
    return { peakRssMiB: rss.peak(), inFlight, ms: performance.now() - started };
  } finally {
    rss.stop();
    await system.terminate();
  }
}

async function inChild<T>(env: Record<string, string>, extraArgs: readonly string[]): Promise<T> {
  const child = spawn(process.execPath, [...extraArgs, ...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = output.split('\n').find((entry) => entry.startsWith('{'));
  if (code !== 0 || line === undefined) throw new Error(`bench child failed (exit ${code}): ${output}`);
  return JSON.parse(line) as T;
}

/**
 * `heapGrowingPercent`: the children apply the service's heap policy with it (service/heap-policy.ts;
 * the service's default is 20), 0 leaves V8's own.
 */
async function largePayloads(count: number, heapGrowingPercent: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-large-'));
  const path = join(dir, 'steadfast.db');
  const policy = { STEADFAST_BENCH_HEAP_GROWING_PERCENT: String(heapGrowingPercent) };
  try {
    const sent = await inChild<SendReport>({ STEADFAST_BENCH_LARGE: 'send', STEADFAST_BENCH_PATH: path, STEADFAST_BENCH_COUNT: String(count), ...policy }, []);
    const recovered = await inChild<RecoveryReport>({ STEADFAST_BENCH_LARGE: 'recover', STEADFAST_BENCH_PATH: path, ...policy }, []);
    const label = `${count.toLocaleString('en-US')} x 100 KB, destination down, ${heapGrowingPercent === 0 ? "V8's own heap policy" : `heap growing ${heapGrowingPercent}% (the service's policy)`}`;
    return [
      {
        name: `peak RSS (${label}; ${sent.accepted} accepted, ${sent.refused} refused past maxUnconfirmedBytes 256 MiB)`,
        value: Math.round(sent.peakRssMiB),
        unit: 'MiB',
        target: '< 512',
        meetsTarget: sent.peakRssMiB < 512,
      },
      { name: `heap after the sends, after a full GC (${label})`, value: Math.round(sent.heapAfterGcMiB), unit: 'MiB' },
      { name: `snapshot failures (${label})`, value: sent.snapshotFailures, unit: 'failures', target: '0', meetsTarget: sent.snapshotFailures === 0 },
      { name: `SQLite database + WAL (${label})`, value: Math.round(sent.fileMiB), unit: 'MiB' },
      {
        name: `peak RSS recovering that file in a new process, ${recovered.inFlight} in flight in ${Math.round(recovered.ms)} ms (${label})`,
        value: Math.round(recovered.peakRssMiB),
        unit: 'MiB',
        target: `< 512, ${sent.accepted} in flight`,
        meetsTarget: recovered.peakRssMiB < 512 && recovered.inFlight === sent.accepted,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childMode = process.env.STEADFAST_BENCH_LARGE;
if (childMode !== undefined) {
  applyHeapPolicy(Number(process.env.STEADFAST_BENCH_HEAP_GROWING_PERCENT ?? 0));
  const path = process.env.STEADFAST_BENCH_PATH!;
  const report = childMode === 'send' ? await sendLargePayloads(path, Number(process.env.STEADFAST_BENCH_COUNT)) : await recoverLargePayloads(path);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

export const benchmarks: Benchmark[] = [
  {
    name: 'outbox storage: heap per unconfirmed delivery',
    run: async () => [await heapPerUnconfirmed(50_000, 'actor'), await heapPerUnconfirmed(50_000, 'transport')],
  },
  { name: 'outbox storage: file after 60k confirmed', run: () => fileAfterConfirmedRun(60_000) },
  { name: 'outbox storage: file after 180k confirmed', run: () => fileAfterConfirmedRun(180_000) },
  { name: 'outbox storage: 100 KB payloads, destination down', run: () => largePayloads(5000, loadConfig({}).heapGrowingPercent) },
  { name: "outbox storage: 100 KB payloads, destination down, V8's own heap policy", run: () => largePayloads(5000, 0) },
];
