/**
 * Persistent actors on the real journals (issue 16): 1 000 actors, each persisting 100 events one after
 * another (`await this.persist(...)` in an async onCommand, ~130 B of JSON each), against raw batched
 * INSERTs of the same rows with the plain driver, in alternating rounds; the node process's CPU per
 * event is reported beside the ratio.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem, inMemorySnapshotStore, PersistentActor, RecoveryCompleted, type AsyncWriteJournal, type PersistentRepr } from '../src/index.js';
import { postgresJournal } from '../journal/postgres/index.js';
import { sqliteJournal } from '../journal/sqlite/index.js';
import type { ActorRef } from '../src/actor/actor-ref.js';
import { elapsedMsSince, median, perSecond, type Benchmark, type BenchResult } from './harness.js';
import { rawBatched } from './postgres.bench.js';

const CONNECTION = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ACTORS = Number(process.env.STEADFAST_BENCH_ACTORS ?? 1000);
const EVENTS_PER_ACTOR = Number(process.env.STEADFAST_BENCH_EVENTS ?? 100);
const ROUNDS = 3;
const silent = pino({ level: 'silent' });

interface OrderLine {
  readonly type: 'OrderLineAdded';
  readonly orderId: string;
  readonly line: number;
  readonly sku: string;
  readonly quantity: number;
  readonly priceCents: number;
  readonly note: string;
}

function orderLine(orderId: string, line: number): OrderLine {
  return { type: 'OrderLineAdded', orderId, line, sku: `sku-${(line * 7919) % 10_000}`, quantity: 1 + (line % 5), priceCents: 1299, note: 'bench' };
}

type Run = { readonly count: number; readonly done: () => void };

class Order extends PersistentActor<Run, OrderLine> {
  lines = 0;
  constructor(readonly persistenceId: string) {
    super();
  }

  async onCommand(command: Run): Promise<void> {
    for (let line = 1; line <= command.count; line++) {
      await this.persist(orderLine(this.persistenceId, line), () => {
        this.lines++;
      });
    }
    command.done();
  }

  onRecover(): void {}
}

/** Events/s and node CPU µs per event of ACTORS actors persisting `perActor` events each. */
export async function actorRound(system: ActorSystem, prefix: string, actors: number, perActor: number): Promise<{ rate: number; cpuMicros: number }> {
  const refs = Array.from({ length: actors }, (_, i) => system.actorOf(() => new Order(`${prefix}-${i}`)));
  const tell = (count: number): Promise<unknown> => Promise.all(refs.map((ref) => new Promise<void>((done) => ref.tell({ count, done }))));
  await tell(0); // recovered (empty streams) before the clock starts
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await tell(perActor);
  const elapsed = elapsedMsSince(started);
  const used = process.cpuUsage(cpu);
  const events = actors * perActor;
  await Promise.all(refs.map((ref) => system.stop(ref)));
  return { rate: perSecond(events, elapsed), cpuMicros: (used.user + used.system) / events };
}

/** The rows the actors write, as the journal stores them, for the raw baseline. */
function rawRows(prefix: string, actors: number, perActor: number): PersistentRepr[] {
  const rows: PersistentRepr[] = [];
  for (let line = 1; line <= perActor; line++) {
    for (let i = 0; i < actors; i++) {
      const persistenceId = `${prefix}-${i}`;
      rows.push({
        persistenceId,
        sequenceNr: line,
        writerUuid: 'bench-writer-0001',
        timestamp: Date.now(),
        tags: [],
        serializerId: 'json',
        manifest: '',
        payload: JSON.stringify(orderLine(persistenceId, line)),
      });
    }
  }
  return rows;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

async function postgres(): Promise<readonly BenchResult[]> {
  const schema = `sf_bench_actors_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: CONNECTION, max: 2 });
  const journal = postgresJournal({ connectionString: CONNECTION, schema, applicationName: 'sf-bench-actors' });
  // One system for every round: terminating it closes its journal.
  const system = ActorSystem.create('bench-actors', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
  try {
    await journal.start();
    const raw = `"${schema}".raw_events`;
    await admin.query(`create table ${raw} (like "${schema}".journal including all)`);
    await actorRound(system, 'warm', 200, 20);
    await rawBatched(admin, raw, rawRows('warm', 200, 20), 'unnest');
    const raws: number[] = [];
    const actors: { rate: number; cpuMicros: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raws.push(await rawBatched(admin, raw, rawRows(`raw-${round}`, ACTORS, EVENTS_PER_ACTOR), 'unnest'));
      actors.push(await actorRound(system, `actor-${round}`, ACTORS, EVENTS_PER_ACTOR));
    }
    const ratios = actors.map((result, i) => round2(result.rate / raws[i]!));
    const ratio = median(ratios);
    const cpu = median(actors.map((result) => result.cpuMicros));
    const rounds = actors.map((result, i) => `${result.rate}/${raws[i]}`).join(', ');
    return [
      {
        name: `persistent actors on PostgreSQL, ${ACTORS} x ${EVENTS_PER_ACTOR} events (rounds actor/raw: ${rounds}; ratios ${ratios.join(', ')})`,
        value: median(actors.map((result) => result.rate)),
        unit: 'events/s',
        baseline: median(raws),
        ratio,
        target: '>= 0.6',
        meetsTarget: ratio >= 0.6,
      },
      {
        name: `persistent actors on PostgreSQL: node CPU per event (rounds ${actors.map((result) => result.cpuMicros.toFixed(1)).join(', ')})`,
        value: round2(cpu),
        unit: 'µs/event',
        target: '<= 10',
        meetsTarget: cpu <= 10,
      },
    ];
  } finally {
    await system.terminate();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
}

const RECOVERY_EVENTS = 100_000;

/** Counts what it replays; tells `done` at RecoveryCompleted. */
class Replayed extends PersistentActor<unknown, unknown> {
  count = 0;
  constructor(
    readonly persistenceId: string,
    private readonly done: () => void,
  ) {
    super();
  }

  onCommand(): void {}

  onRecover(message: unknown): void {
    if (message instanceof RecoveryCompleted) this.done();
    else this.count++;
  }
}

async function fillStream(journal: AsyncWriteJournal, persistenceId: string): Promise<void> {
  for (let first = 1; first <= RECOVERY_EVENTS; first += 1000) {
    const events = rawRows(persistenceId, 1, 1000).map((row, i) => ({ ...row, persistenceId, sequenceNr: first + i }));
    await journal.writeMessages([{ persistenceId, events }]);
  }
}

/**
 * One stream of RECOVERY_EVENTS events recovered by an actor, against the journal's own replay of it
 * (the SPI, payloads left serialized) and against that replay plus `JSON.parse` of each payload (the
 * least work a recovery that hands events to an actor needs), in alternating rounds.
 */
async function recovery(label: string, journal: AsyncWriteJournal): Promise<readonly BenchResult[]> {
  const system = ActorSystem.create('bench-recovery', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
  try {
    await fillStream(journal, 'recovered');
    const replay = async (parse: boolean): Promise<number> => {
      let count = 0;
      const started = process.hrtime.bigint();
      await journal.replayMessages('recovered', 1, RECOVERY_EVENTS, RECOVERY_EVENTS, (event) => {
        if (parse) JSON.parse(event.payload as string);
        count++;
      });
      return perSecond(count, elapsedMsSince(started));
    };
    const recover = async (): Promise<number> => {
      const started = process.hrtime.bigint();
      let ref: ActorRef | undefined;
      await new Promise<void>((done) => {
        ref = system.actorOf(() => new Replayed('recovered', done));
      });
      const rate = perSecond(RECOVERY_EVENTS, elapsedMsSince(started));
      await system.stop(ref!);
      return rate;
    };
    await replay(true);
    await recover(); // warm-up
    const raws: number[] = [];
    const parsed: number[] = [];
    const actors: number[] = [];
    // Each pass starts from a collected heap: otherwise the third pays for the garbage of the first two.
    for (let round = 0; round < ROUNDS; round++) {
      globalThis.gc?.();
      raws.push(await replay(false));
      globalThis.gc?.();
      parsed.push(await replay(true));
      globalThis.gc?.();
      actors.push(await recover());
    }
    const ratios = actors.map((rate, i) => round2(rate / raws[i]!));
    const parsedRatios = actors.map((rate, i) => round2(rate / parsed[i]!));
    return [
      {
        name: `actor recovery on ${label}, ${RECOVERY_EVENTS} events, against the journal's replay (rounds actor/replay: ${actors.map((rate, i) => `${rate}/${raws[i]}`).join(', ')}; ratios ${ratios.join(', ')})`,
        value: median(actors),
        unit: 'events/s',
        baseline: median(raws),
        ratio: median(ratios),
        target: '>= 0.9',
        meetsTarget: median(ratios) >= 0.9,
      },
      {
        name: `actor recovery on ${label}, against the journal's replay plus JSON.parse of each payload (replay+parse: ${parsed.join(', ')}; ratios ${parsedRatios.join(', ')})`,
        value: median(actors),
        unit: 'events/s',
        baseline: median(parsed),
        ratio: median(parsedRatios),
      },
    ];
  } finally {
    await system.terminate();
  }
}

async function sqliteRecovery(): Promise<readonly BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-recovery-'));
  try {
    return await recovery('SQLite', sqliteJournal({ path: join(dir, 'recovery.db') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRecovery(): Promise<readonly BenchResult[]> {
  const schema = `sf_bench_recovery_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    return await recovery('PostgreSQL', postgresJournal({ connectionString: CONNECTION, schema, applicationName: 'sf-bench-recovery' }));
  } finally {
    const admin = new pg.Client({ connectionString: CONNECTION });
    await admin.connect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
}

export const benchmarks: Benchmark[] = [
  { name: 'persistent actors: PostgreSQL', needs: ['postgres'], run: postgres },
  { name: 'persistent actors: recovery, SQLite', run: sqliteRecovery },
  { name: 'persistent actors: recovery, PostgreSQL', needs: ['postgres'], run: postgresRecovery },
];
