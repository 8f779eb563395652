/**
 * Persistent-actor overhead with the in-memory journal, so the figures show the runtime's own cost
 * (serialization check, write pipeline, handler scheduling, replay), not a database's.
 */
import pino from 'pino';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore, PersistentActor, RecoveryCompleted, type AtomicWrite, type PersistentRepr } from '../src/index.js';
import { elapsedMsSince, perSecond, type Benchmark, type BenchResult } from './harness.js';

const silent = pino({ level: 'silent' });

type Run = { readonly count: number; readonly done: () => void };

/** Persists `count` events one after another: persist, wait for its handler, persist the next. */
class SequentialWriter extends PersistentActor<Run, { type: 'Incremented'; n: number }> {
  state = 0;
  constructor(readonly persistenceId: string) {
    super();
  }

  async onCommand(command: unknown): Promise<void> {
    const run = command as Run;
    for (let n = 0; n < run.count; n++) {
      await this.persist({ type: 'Incremented', n }, (event) => {
        this.state += event.n;
      });
    }
    run.done();
  }

  onRecover(): void {}
}

class Replayer extends PersistentActor<unknown, unknown> {
  replayed = 0;
  constructor(
    readonly persistenceId: string,
    private readonly onDone: (replayed: number) => void,
  ) {
    super();
  }

  onCommand(): void {}

  onRecover(message: unknown): void {
    if (message instanceof RecoveryCompleted) this.onDone(this.replayed);
    else this.replayed++;
  }
}

async function medianOf(runs: number, measure: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    values.push(await measure());
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

async function persistThroughput(actors: number, eventsPerActor: number): Promise<number> {
  const system = ActorSystem.create('bench', { journal: inMemoryJournal({ logger: silent }), snapshotStore: inMemorySnapshotStore(), logger: silent });
  const refs = Array.from({ length: actors }, (_, i) => system.actorOf(() => new SequentialWriter(`writer-${i}`)));
  // Every actor recovers (empty streams) before the clock starts: the figure is for persisting only.
  await Promise.all(refs.map((ref) => new Promise<void>((resolve) => ref.tell({ count: 0, done: resolve } satisfies Run))));
  const start = process.hrtime.bigint();
  await Promise.all(refs.map((ref) => new Promise<void>((resolve) => ref.tell({ count: eventsPerActor, done: resolve } satisfies Run))));
  const elapsed = elapsedMsSince(start);
  await system.terminate();
  return perSecond(actors * eventsPerActor, elapsed);
}

async function recoverySpeed(events: number): Promise<number> {
  const journal = inMemoryJournal({ logger: silent });
  const batch = 10_000;
  for (let first = 1; first <= events; first += batch) {
    const reprs: PersistentRepr[] = [];
    for (let sequenceNr = first; sequenceNr < first + batch && sequenceNr <= events; sequenceNr++) {
      reprs.push({
        persistenceId: 'replayed',
        sequenceNr,
        serializerId: 'json',
        manifest: 'Incremented@1',
        payload: `{"type":"Incremented","n":${sequenceNr}}`,
        writerUuid: 'bench',
        timestamp: 0,
        tags: [],
      });
    }
    const write: AtomicWrite = { persistenceId: 'replayed', events: reprs };
    await journal.writeMessages([write]);
  }
  const system = ActorSystem.create('bench-recovery', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
  globalThis.gc?.();
  const start = process.hrtime.bigint();
  const replayed = await new Promise<number>((resolve) => system.actorOf(() => new Replayer('replayed', resolve)));
  const elapsed = elapsedMsSince(start);
  await system.terminate();
  if (replayed !== events) throw new Error(`replayed ${replayed} of ${events} events`);
  return perSecond(events, elapsed);
}

export const benchmarks: Benchmark[] = [
  {
    name: 'persist, in-memory journal',
    async run(): Promise<readonly BenchResult[]> {
      await persistThroughput(10, 2_000); // warm-up
      // The machine is shared: each figure is the median of three runs.
      const sequential = await medianOf(3, () => persistThroughput(1, 100_000));
      const concurrent = await medianOf(3, () => persistThroughput(1_000, 300));
      return [
        { name: 'persist, 1 actor sequential, in-memory', value: sequential, unit: 'events/s' },
        {
          name: 'persist, 1000 actors concurrent, in-memory',
          value: concurrent,
          unit: 'events/s',
          target: '>= 300000',
          meetsTarget: concurrent >= 300_000,
        },
      ];
    },
  },
  {
    name: 'recovery, in-memory journal',
    async run(): Promise<readonly BenchResult[]> {
      await recoverySpeed(50_000); // warm-up
      const speed = await medianOf(3, () => recoverySpeed(1_000_000));
      return [{ name: 'recovery, 1 actor with 1M events, in-memory', value: speed, unit: 'events/s', target: '>= 1000000', meetsTarget: speed >= 1_000_000 }];
    },
  },
];
