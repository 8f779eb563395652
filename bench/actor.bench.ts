/**
 * The actor runtime on its own: tell throughput between two actors and into one actor from many, and
 * the heap an idle actor costs. Targets from the foundation issue: >= 2M messages/s between two
 * actors, <= 1 KiB heap per idle actor.
 */
import pino from 'pino';
import { Actor, ActorSystem, type ActorRef } from '../src/actor/index.js';
import { perSecond, type Benchmark, type BenchResult } from './harness.js';

const silent = pino({ level: 'silent' });

class Start {
  constructor(
    readonly partner: ActorRef,
    readonly inFlight: number,
  ) {}
}

/** Returns each message to its sender until `total` messages have been handled by both players together. */
class Player extends Actor {
  constructor(private readonly shared: { handled: number; readonly total: number; readonly done: () => void }) {
    super();
  }

  receive(message: unknown): void {
    if (message instanceof Start) {
      for (let i = 0; i < message.inFlight; i++) message.partner.tell(i, this.self);
      return;
    }
    const shared = this.shared;
    if (++shared.handled === shared.total) shared.done();
    else if (shared.handled < shared.total) this.sender.tell(message, this.self);
  }
}

async function pingPong(total: number, inFlight: number): Promise<number> {
  const system = ActorSystem.create('bench', { logger: silent });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const shared = { handled: 0, total, done };
  const a = system.actorOf(() => new Player(shared), 'a');
  const b = system.actorOf(() => new Player(shared), 'b');
  const started = performance.now();
  a.tell(new Start(b, inFlight));
  await finished;
  const elapsed = performance.now() - started;
  await system.terminate();
  return perSecond(total, elapsed);
}

class Sink extends Actor {
  constructor(
    private readonly expected: number,
    private readonly done: () => void,
  ) {
    super();
  }

  #received = 0;

  receive(): void {
    if (++this.#received === this.expected) this.done();
  }
}

class Source extends Actor {
  receive(message: unknown): void {
    const { sink, count } = message as { sink: ActorRef; count: number };
    for (let i = 0; i < count; i++) sink.tell(i, this.self);
  }
}

async function fanIn(sources: number, perSource: number): Promise<number> {
  const system = ActorSystem.create('bench', { logger: silent });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const total = sources * perSource;
  const sink = system.actorOf(() => new Sink(total, done), 'sink');
  const refs = Array.from({ length: sources }, (_, i) => system.actorOf(() => new Source(), `source-${i}`));
  const started = performance.now();
  for (const ref of refs) ref.tell({ sink, count: perSource });
  await finished;
  const elapsed = performance.now() - started;
  await system.terminate();
  return perSecond(total, elapsed);
}

// Module-level, so that knowing when all started costs the actors themselves nothing.
let idleToStart = 0;
let allIdleStarted: () => void = () => {};

class Idle extends Actor {
  override preStart(): void {
    if (--idleToStart === 0) allIdleStarted();
  }

  receive(): void {}
}

function collect(): void {
  // Several passes: one full GC may leave garbage that another pass frees.
  for (let i = 0; i < 3; i++) globalThis.gc?.();
}

async function heapPerIdleActor(count: number): Promise<number> {
  const system = ActorSystem.create('bench', { logger: silent });
  // The probe actor's ask: makes sure the system and its guardian are past startup before the baseline.
  await system
    .actorOf(
      () =>
        new (class extends Actor {
          receive(): void {
            this.sender.tell('up');
          }
        })(),
      'probe',
    )
    .ask('up');
  collect();
  const before = process.memoryUsage().heapUsed;
  // Measured once every actor ran its preStart: idle, not waiting to start.
  idleToStart = count;
  const started = new Promise<void>((resolve) => {
    allIdleStarted = resolve;
  });
  for (let i = 0; i < count; i++) system.actorOf(() => new Idle(), `idle-${i}`);
  await started;
  collect();
  const after = process.memoryUsage().heapUsed;
  const perActor = (after - before) / count;
  await system.terminate();
  return perActor;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function medianOf(runs: number, measure: () => Promise<number>): Promise<number> {
  await measure(); // warm-up: JIT and heap sizing
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await measure());
  return median(values);
}

export const benchmarks: Benchmark[] = [
  {
    name: 'actor tell',
    async run(): Promise<readonly BenchResult[]> {
      const single = await medianOf(3, () => pingPong(1_000_000, 1));
      const batched = await medianOf(3, () => pingPong(4_000_000, 1000));
      const fan = await medianOf(3, () => fanIn(1000, 2000));
      return [
        { name: 'tell ping-pong, two actors, 1 message in flight', value: single, unit: 'messages/s' },
        {
          name: 'tell ping-pong, two actors, 1000 messages in flight',
          value: batched,
          unit: 'messages/s',
          target: '>= 2,000,000',
          meetsTarget: batched >= 2_000_000,
        },
        { name: 'tell fan-in, 1000 actors to one', value: fan, unit: 'messages/s' },
      ];
    },
  },
  {
    name: 'actor heap',
    async run(): Promise<readonly BenchResult[]> {
      const bytes = Math.round(await medianOf(3, () => heapPerIdleActor(100_000)));
      return [{ name: 'heap per idle actor, 100k actors', value: bytes, unit: 'bytes/actor', target: '<= 1024', meetsTarget: bytes <= 1024 }];
    },
  },
];
