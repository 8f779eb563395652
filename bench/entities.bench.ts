/**
 * Entities in one process (issue 18), on SQLite: IDS distinct ids touched once each (one persisted event)
 * under maxActiveEntities CAP — peak RSS, heap per active entity; activation latency of cold ids
 * (recovery of their one event); asks to hot entities against asks to plain actors, in the same run.
 * STEADFAST_BENCH_IDS and STEADFAST_BENCH_CAP scale it (defaults 1 000 000 and 100 000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Actor, ActorSystem, Entities, inMemorySnapshotStore, PersistentActor, type EntityRegion } from '../src/index.js';
import { sqliteJournal } from '../journal/sqlite/index.js';
import { elapsedMsSince, median, percentile, perSecond, type Benchmark, type BenchResult } from './harness.js';

const IDS = Number(process.env.STEADFAST_BENCH_IDS ?? 1_000_000);
const CAP = Number(process.env.STEADFAST_BENCH_CAP ?? 100_000);
const WINDOW = 1000;
const SAMPLE = Math.min(10_000, IDS - CAP);
const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

class Touch {
  static readonly instance = new Touch();
}
class Read {
  static readonly instance = new Read();
}

/** A device that counts the touches it saw (persisted) and answers reads. */
class Device extends PersistentActor<Touch | Read, { type: 'touched' }> {
  readonly persistenceId: string;
  touches = 0;
  constructor(id: string) {
    super();
    this.persistenceId = `device-${id}`;
  }

  onCommand(command: Touch | Read): void {
    if (command === Read.instance) this.sender.tell(this.touches);
    else void this.persist({ type: 'touched' }, () => this.sender.tell(++this.touches));
  }

  onRecover(event: unknown): void {
    if ((event as { type?: string }).type === 'touched') this.touches++;
  }
}

class Plain extends Actor<Read> {
  receive(): void {
    this.sender.tell(0);
  }
}

/** `count` asks, at most WINDOW outstanding; resolves with asks/s. */
async function windowed(count: number, ask: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await ask(next++);
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, worker));
  return perSecond(count, elapsedMsSince(started));
}

function heapAfterGc(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

async function run(): Promise<readonly BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-entities-'));
  const system = ActorSystem.create('bench-entities', { journal: sqliteJournal({ path: join(dir, 'entities.db') }), snapshotStore: inMemorySnapshotStore(), logger: silent });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    const region: EntityRegion<Touch | Read> = Entities.start(system, { typeName: 'devices', entity: (id) => new Device(id), maxActiveEntities: CAP });
    const heapBefore = heapAfterGc();
    const touchRate = await windowed(IDS, (i) => region.ask(`d${i}`, Touch.instance, 60_000));
    const { alive } = await region.stats();
    const heapPerActive = (heapAfterGc() - heapBefore) / alive;

    // Cold: ids touched early were displaced long ago; each read recovers one.
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLE; i++) {
      const started = process.hrtime.bigint();
      await region.ask(`d${i}`, Read.instance, 60_000);
      latencies.push(elapsedMsSince(started));
    }
    latencies.sort((a, b) => a - b);
    const coldRate = await windowed(SAMPLE, (i) => region.ask(`d${SAMPLE + i}`, Read.instance, 60_000));

    // Hot: the last ids touched are alive; against the same asks to plain actors.
    const plains = Array.from({ length: 1000 }, () => system.actorOf(() => new Plain()));
    const hotRates: number[] = [];
    const plainRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      hotRates.push(await windowed(100_000, (i) => region.ask(`d${IDS - 1 - (i % 1000)}`, Read.instance)));
      plainRates.push(await windowed(100_000, (i) => plains[i % 1000]!.ask(Read.instance)));
    }
    const hotRatios = hotRates.map((rate, i) => Math.round((rate / plainRates[i]!) * 100) / 100);
    return [
      { name: `entities: ${IDS} ids touched once (one event each) under maxActiveEntities ${CAP}, SQLite`, value: touchRate, unit: 'messages/s' },
      { name: `entities: peak RSS over the run (${alive} alive at the end)`, value: Math.round(peakRss / MiB), unit: 'MiB' },
      {
        name: 'entities: heap per active entity (an idle PersistentActor, its cell and the region entry)',
        value: Math.round(heapPerActive),
        unit: 'bytes',
        target: '<= 2048',
        meetsTarget: heapPerActive <= 2048,
      },
      {
        name: `entities: activation latency of a cold id (recovery of 1 event), p50 (${SAMPLE} ids, one at a time)`,
        value: Math.round(percentile(latencies, 50) * 1000) / 1000,
        unit: 'ms',
      },
      { name: 'entities: activation latency of a cold id, p99', value: Math.round(percentile(latencies, 99) * 1000) / 1000, unit: 'ms' },
      { name: `entities: asks to cold ids, ${WINDOW} outstanding`, value: coldRate, unit: 'messages/s' },
      {
        name: `entities: asks to hot entities against asks to plain actors (rounds ${hotRates.map((rate, i) => `${rate}/${plainRates[i]}`).join(', ')})`,
        value: median(hotRates),
        unit: 'messages/s',
        baseline: median(plainRates),
        ratio: median(hotRatios),
      },
    ];
  } finally {
    clearInterval(sampler);
    await system.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmarks: Benchmark[] = [{ name: 'entities: one process', run }];
