/**
 * Entities in one process (issue 18), on SQLite and on PostgreSQL: IDS distinct ids touched once each
 * (one persisted event) under maxActiveEntities CAP — peak RSS, heap per active entity; activation
 * latency of cold ids that recover from a snapshot plus PREPARED_TAIL events, one at a time; asks to
 * such cold ids against the journal's own snapshot load + replay of the same streams; tells to hot
 * (active) entities against bare tells to plain actors, in the same run.
 * STEADFAST_BENCH_IDS and STEADFAST_BENCH_CAP scale it (defaults 1 000 000 and 100 000).
 *
 * Bounded, not growing with the ids touched: every STEADFAST_BENCH_CHECKPOINT ids (default 200 000) the
 * touch phase pauses for a forced GC and reports heap used and RSS (printed as it goes, and as results);
 * past the cap, with the same number alive, heap after GC must stay flat. Heap per active entity is the
 * heap after GC with the cap alive against the same heap once the region stopped all of them, at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type { ActorRef } from '../src/actor/actor-ref.js';
import {
  Actor,
  ActorSystem,
  type AsyncWriteJournal,
  Entities,
  type EntityRegion,
  PersistentActor,
  type PersistenceReply,
  type RecoveryMessage,
  SaveSnapshotSuccess,
  SnapshotOffer,
  SnapshotSelectionCriteria,
  type SnapshotStore,
} from '../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../journal/postgres/index.js';
import { sqliteJournal, sqliteSnapshotStore } from '../journal/sqlite/index.js';
import { acrossProcesses } from './entities-processes.js';
import { elapsedMsSince, median, percentile, perSecond, type Benchmark, type BenchResult } from './harness.js';

const IDS = Number(process.env.STEADFAST_BENCH_IDS ?? 1_000_000);
const CAP = Number(process.env.STEADFAST_BENCH_CAP ?? 100_000);
const WINDOW = 1000;
const CHECKPOINT = Number(process.env.STEADFAST_BENCH_CHECKPOINT ?? 200_000);
const SAMPLE = Math.min(10_000, Math.max(1, IDS - CAP));
/** Sample ids hold a snapshot at PREPARED_SNAPSHOT events and PREPARED_TAIL events after it (the issue: "a snapshot plus at most 100 events"). */
const PREPARED_SNAPSHOT = 100;
const PREPARED_TAIL = 50;
const HOT_TELLS = 200_000;
const CONNECTION = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

class Touch {
  static readonly instance = new Touch();
}
class Read {
  static readonly instance = new Read();
}
/** Counted in memory only: what a hot entity does with a tell that needs no write. */
class Count {
  static readonly instance = new Count();
}
/** Gives the entity PREPARED_SNAPSHOT events, a snapshot, then PREPARED_TAIL more events. */
class Prepare {
  static readonly instance = new Prepare();
}

type DeviceEvent = { type: 'touched' };
type DeviceCommand = Touch | Read | Count | Prepare;

/** A device that counts the touches it saw (persisted) and answers reads. */
class Device extends PersistentActor<DeviceCommand, DeviceEvent> {
  readonly persistenceId: string;
  touches = 0;
  counted = 0;
  constructor(id: string) {
    super();
    this.persistenceId = `device-${id}`;
  }

  #prepared: { sender: ActorRef; remaining: number } | undefined;

  onCommand(command: DeviceCommand | PersistenceReply): void {
    if (command instanceof SaveSnapshotSuccess) return this.#preparedStep();
    if (command === Read.instance) this.sender.tell(this.touches + this.counted);
    else if (command === Count.instance) this.counted++;
    else if (command === Prepare.instance) this.#prepare();
    else if (command === Touch.instance) void this.persist({ type: 'touched' }, () => this.sender.tell(++this.touches));
  }

  /** Answers once both the tail is written and the snapshot is saved: a later recovery must find it. */
  #prepare(): void {
    this.#prepared = { sender: this.sender, remaining: 2 };
    const events = (n: number): DeviceEvent[] => Array.from({ length: n }, () => ({ type: 'touched' as const }));
    void this.persistAll(events(PREPARED_SNAPSHOT), () => {
      this.touches++;
    })
      .then(() => {
        this.saveSnapshot(this.touches);
        return this.persistAll(events(PREPARED_TAIL), () => {
          this.touches++;
        });
      })
      .then(() => this.#preparedStep());
  }

  #preparedStep(): void {
    if (this.#prepared && --this.#prepared.remaining === 0) {
      this.#prepared.sender.tell(this.touches);
      this.#prepared = undefined;
    }
  }

  onRecover(message: RecoveryMessage<DeviceEvent>): void {
    if (message instanceof SnapshotOffer) this.touches = message.snapshot as number;
    else if ((message as { type?: string }).type === 'touched') this.touches++;
  }
}

class Plain extends Actor<Read | Count> {
  counted = 0;
  receive(message: Read | Count): void {
    if (message === Count.instance) this.counted++;
    else this.sender.tell(this.counted);
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
  // Twice: the first collection's finalisation can free more for the second (weak refs, ephemerons).
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

interface Checkpoint {
  readonly ids: number;
  readonly alive: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
}

function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

interface Stores {
  readonly label: string;
  readonly journal: AsyncWriteJournal;
  readonly snapshotStore: SnapshotStore;
  readonly cleanup: () => Promise<void>;
}

/** Tells, `count` of them round-robin over 1 000 targets, then one ask each so that all were handled. */
async function tellRate(count: number, tell: (i: number) => void, settle: (target: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) tell(i);
  await Promise.all(Array.from({ length: 1000 }, (_, target) => settle(target)));
  return perSecond(count, elapsedMsSince(started));
}

/** The journal's own work for a cold activation: load the newest snapshot, replay what follows it. */
async function replayStream(stores: Stores, persistenceId: string): Promise<void> {
  const snapshot = await stores.snapshotStore.load(persistenceId, SnapshotSelectionCriteria.latest);
  const from = (snapshot?.metadata.sequenceNr ?? 0) + 1;
  let events = 0;
  await stores.journal.replayMessages(persistenceId, from, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    events++;
  });
  if (events !== PREPARED_TAIL) throw new Error(`${persistenceId}: replayed ${events} events, expected ${PREPARED_TAIL}`);
}

async function run(stores: Stores): Promise<readonly BenchResult[]> {
  const { label } = stores;
  const system = ActorSystem.create('bench-entities', { journal: stores.journal, snapshotStore: stores.snapshotStore, logger: silent });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    const region: EntityRegion<DeviceCommand> = Entities.start(system, { typeName: 'devices', entity: (id) => new Device(id), maxActiveEntities: CAP });
    // The sample: ids with a snapshot and PREPARED_TAIL events after it, displaced by the touches below.
    await windowed(SAMPLE, (i) => region.ask(`s${i}`, Prepare.instance, 120_000));
    const heapBefore = heapAfterGc();
    // The touches, CHECKPOINT ids at a time; the rate counts only the touching, not the pauses for GC.
    const checkpoints: Checkpoint[] = [];
    let touchMs = 0;
    for (let from = 0; from < IDS; from += CHECKPOINT) {
      const count = Math.min(CHECKPOINT, IDS - from);
      const started = process.hrtime.bigint();
      await windowed(count, (i) => region.ask(`d${from + i}`, Touch.instance, 120_000));
      touchMs += elapsedMsSince(started);
      const heap = heapAfterGc();
      const checkpoint = { ids: from + count, alive: (await region.stats()).alive, heapMiB: mib(heap), rssMiB: mib(process.memoryUsage().rss) };
      checkpoints.push(checkpoint);
      console.error(`entities, ${label}: ${checkpoint.ids} ids touched, ${checkpoint.alive} alive: heap after GC ${checkpoint.heapMiB} MiB, RSS ${checkpoint.rssMiB} MiB`);
    }
    const touchRate = perSecond(IDS, touchMs);
    const { alive } = await region.stats();
    // As on 2026-12-02: against the heap with the SAMPLE prepared ids alive, so it leaves those out.
    const heapPerActiveSinceSample = (heapAfterGc() - heapBefore) / alive;

    // Cold: each read recovers a snapshot and PREPARED_TAIL events; first one at a time, for latency.
    const half = Math.floor(SAMPLE / 2);
    const latencies: number[] = [];
    for (let i = 0; i < half; i++) {
      const started = process.hrtime.bigint();
      const touches = await region.ask(`s${i}`, Read.instance, 60_000);
      latencies.push(elapsedMsSince(started));
      if (touches !== PREPARED_SNAPSHOT + PREPARED_TAIL) throw new Error(`s${i} recovered ${String(touches)} touches`);
    }
    latencies.sort((a, b) => a - b);
    // Then the other half WINDOW at a time, against the journal's own load + replay of the same streams.
    const coldRate = await windowed(SAMPLE - half, (i) => region.ask(`s${half + i}`, Read.instance, 60_000));
    const replayRate = await windowed(SAMPLE - half, (i) => replayStream(stores, `device-s${half + i}`));

    // Hot: the last 1 000 ids touched are alive; tells to them against bare tells to plain actors.
    const plains = Array.from({ length: 1000 }, () => system.actorOf(() => new Plain()));
    const hotIds = Array.from({ length: 1000 }, (_, i) => `d${IDS - 1 - i}`);
    const hotRates: number[] = [];
    const plainRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      hotRates.push(
        await tellRate(
          HOT_TELLS,
          (i) => region.tell(hotIds[i % 1000]!, Count.instance),
          (t) => region.ask(hotIds[t]!, Read.instance),
        ),
      );
      plainRates.push(
        await tellRate(
          HOT_TELLS,
          (i) => plains[i % 1000]!.tell(Count.instance),
          (t) => plains[t]!.ask(Read.instance),
        ),
      );
    }
    const hotRatios = hotRates.map((rate, i) => Math.round((rate / plainRates[i]!) * 100) / 100);

    // What the alive entities themselves hold: the heap with the cap alive against none alive.
    const aliveAtEnd = (await region.stats()).alive;
    const heapFull = heapAfterGc();
    await region.stopEntities(() => true, 600_000);
    const heapEmpty = heapAfterGc();
    const heapPerActive = (heapFull - heapEmpty) / aliveAtEnd;
    const checkpointResults: BenchResult[] = checkpoints.map((checkpoint) => ({
      name: `entities, ${label}: heap used after GC at ${checkpoint.ids} ids touched (${checkpoint.alive} alive; RSS then ${checkpoint.rssMiB} MiB)`,
      value: checkpoint.heapMiB,
      unit: 'MiB',
    }));
    return [
      { name: `entities, ${label}: ${IDS} ids touched once (one event each) under maxActiveEntities ${CAP}`, value: touchRate, unit: 'messages/s' },
      { name: `entities, ${label}: peak RSS over the run (${alive} alive at the end)`, value: Math.round(peakRss / MiB), unit: 'MiB' },
      ...checkpointResults,
      {
        name: `entities, ${label}: heap per active entity (an idle PersistentActor, its cell and the region entry; ${aliveAtEnd} alive against none, ${mib(heapFull)} -> ${mib(heapEmpty)} MiB)`,
        value: Math.round(heapPerActive),
        unit: 'bytes',
        target: '<= 2048',
        meetsTarget: heapPerActive <= 2048,
      },
      {
        name: `entities, ${label}: heap per active entity the 2026-12-02 way (after the touches against before them, ${SAMPLE} prepared ids alive before)`,
        value: Math.round(heapPerActiveSinceSample),
        unit: 'bytes',
      },
      {
        name: `entities, ${label}: activation latency of a cold id (snapshot + ${PREPARED_TAIL} events), p50 (${half} ids, one at a time)`,
        value: Math.round(percentile(latencies, 50) * 1000) / 1000,
        unit: 'ms',
      },
      { name: `entities, ${label}: activation latency of a cold id, p99`, value: Math.round(percentile(latencies, 99) * 1000) / 1000, unit: 'ms' },
      {
        name: `entities, ${label}: asks to cold ids (${WINDOW} outstanding) against the journal's snapshot load + replay of the same streams`,
        value: coldRate,
        unit: 'activations/s',
        baseline: replayRate,
        ratio: Math.round((coldRate / replayRate) * 100) / 100,
      },
      {
        name: `entities, ${label}: tells to hot entities against bare tells to plain actors (rounds ${hotRates.map((rate, i) => `${rate}/${plainRates[i]}`).join(', ')}; ratios ${hotRatios.join(', ')})`,
        value: median(hotRates),
        unit: 'messages/s',
        baseline: median(plainRates),
        ratio: median(hotRatios),
      },
    ];
  } finally {
    clearInterval(sampler);
    await system.terminate();
    await stores.cleanup();
  }
}

function sqliteStores(): Stores {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-entities-'));
  const path = join(dir, 'entities.db');
  return {
    label: 'SQLite',
    journal: sqliteJournal({ path }),
    snapshotStore: sqliteSnapshotStore({ path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresStores(): Stores {
  const schema = `sf_bench_entities_${process.pid}_${randomBytes(3).toString('hex')}`;
  return {
    label: 'PostgreSQL',
    journal: postgresJournal({ connectionString: CONNECTION, schema, applicationName: 'sf-bench-entities' }),
    snapshotStore: postgresSnapshotStore({ connectionString: CONNECTION, schema }),
    cleanup: async () => {
      const admin = new pg.Client({ connectionString: CONNECTION });
      await admin.connect();
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    },
  };
}

export const benchmarks: Benchmark[] = [
  { name: 'entities: one process, SQLite', run: () => run(sqliteStores()) },
  { name: 'entities: one process, PostgreSQL', needs: ['postgres'], run: () => run(postgresStores()) },
  { name: 'entities: across processes (1, 2, 3 serving; PostgreSQL, RabbitMQ)', needs: ['postgres', 'rabbitmq'], run: acrossProcesses },
];
