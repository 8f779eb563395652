/**
 * The HTTP-delivery workload of issue 16, shared by `delivery: HTTP` (the Outbox against the raw
 * ceiling) and `peers` (the Outbox against pg-boss and BullMQ): MESSAGES messages of ~200 B of JSON,
 * offered WINDOW at a time (each window once the previous one is durable), delivered as HTTP POSTs to
 * a local sink answering 200 with IN_FLIGHT requests at most, on PostgreSQL. A round is timed from the
 * first send until the last confirmation is durable.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { Pool } from 'undici';
import { ActorSystem, Outbox, type DeliveryTransport, type OutboxOptions } from '../src/index.js';
import { httpTransport } from '../delivery/http/index.js';
import { postgresJournal, postgresSnapshotStore } from '../journal/postgres/index.js';
import { elapsedMsSince, median, perSecond, type BenchResult } from './harness.js';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MESSAGES = Number(process.env.STEADFAST_BENCH_HTTP_MESSAGES ?? 20_000);
export const IN_FLIGHT = 64;
export const WINDOW = 1000;
export const ROUNDS = 3;
// Wider than a round: a delivery still waiting for one of the 64 slots must neither time out nor be
// sent twice while the first attempt is on its way (the raw ceiling has no timeouts either).
const ROUND_TIMEOUT_MS = 120_000;
const silent = pino({ level: 'silent' });

// A type alias, not an interface: JsonValue needs the index signature an object type literal has.
export type OrderPlaced = {
  readonly type: 'OrderPlaced';
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: { sku: string; quantity: number; priceCents: number }[];
  readonly currency: string;
  readonly note: string;
};

/** Message n: 210-220 bytes of JSON. */
export function orderPlaced(n: number): OrderPlaced {
  return {
    type: 'OrderPlaced',
    orderId: `order-${String(n).padStart(8, '0')}`,
    customerId: `customer-${n % 9973}`,
    lines: [
      { sku: `sku-${(n * 7919) % 10_000}`, quantity: 1 + (n % 5), priceCents: 1299 },
      { sku: `sku-${(n * 104_729) % 10_000}`, quantity: 1, priceCents: 450 },
    ],
    currency: 'EUR',
    note: 'door',
  };
}

export interface Sink {
  readonly url: string;
  /** POSTs answered so far. */
  posts(): Promise<number>;
  close(): Promise<void>;
}

/** Starts bench/http-sink.mjs in a child process. */
export async function startSink(): Promise<Sink> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./http-sink.mjs', import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`http sink exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    posts: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve((message as { posts: number }).posts));
        child.send('count');
      }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

export type Post = (body: Buffer, id: number) => Promise<number>;

export interface HttpClient {
  readonly post: Post;
  close(): Promise<void>;
}

export function headers(body: Buffer, id: number): Record<string, string> {
  return { 'content-type': 'application/json', 'content-length': String(body.length), 'idempotency-key': `raw:${id}` };
}

/** The keep-alive client the raw ceiling and the peers post with: undici 7's Pool, IN_FLIGHT connections. */
export function undiciClient(url: URL): HttpClient {
  const pool = new Pool(url.origin, { connections: IN_FLIGHT, pipelining: 1 });
  return {
    post: async (body, id) => {
      const response = await pool.request({ path: url.pathname, method: 'POST', headers: headers(body, id), body });
      await response.body.dump();
      return response.statusCode;
    },
    close: () => pool.close(),
  };
}

/** Offers messages 0..count-1 to `send`, WINDOW at a time. */
export async function produce(count: number, send: (n: number) => Promise<unknown>, offset = 0): Promise<void> {
  for (let sent = 0; sent < count; sent += WINDOW) {
    await Promise.all(Array.from({ length: Math.min(WINDOW, count - sent) }, (_, i) => send(offset + sent + i)));
  }
}

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = ROUND_TIMEOUT_MS, everyMs = 5): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One measured round: messages/s, and node CPU µs per message (this process; the sink is another). */
export interface RoundResult {
  readonly rate: number;
  readonly cpuMicros: number;
  /** POSTs the sink answered for the measured messages (more than MESSAGES: deliveries sent twice). */
  readonly posts: number;
}

/** Times `run` (which delivers `count` messages) and reads the sink's count around it. */
export async function timed(sink: Sink, count: number, run: () => Promise<void>): Promise<RoundResult> {
  const postsBefore = await sink.posts();
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await run();
  const elapsed = elapsedMsSince(started);
  const used = process.cpuUsage(cpu);
  return { rate: perSecond(count, elapsed), cpuMicros: (used.user + used.system) / count, posts: (await sink.posts()) - postsBefore };
}

/** A schema of its own per round, dropped afterwards. */
export async function withSchema<T>(label: string, body: (schema: string) => Promise<T>): Promise<T> {
  const schema = `sf_bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    return await body(schema);
  } finally {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
}

export interface OutboxRoundOptions {
  readonly count?: number;
  /** Delivered before the clock starts. Default 500. */
  readonly warmup?: number;
  /** Default: httpTransport with IN_FLIGHT requests at most. */
  readonly transport?: () => DeliveryTransport;
  readonly outbox?: OutboxOptions;
}

/**
 * The Outbox on a PostgreSQL journal (snapshots there too) with httpTransport, IN_FLIGHT requests at
 * most, as the service wires them (its defaults but the redelivery interval).
 */
export async function outboxRound(sink: Sink, options: OutboxRoundOptions = {}): Promise<RoundResult> {
  const { count = MESSAGES, warmup = 500 } = options;
  const transport = options.transport ?? (() => httpTransport({ maxConcurrency: IN_FLIGHT, timeoutMs: ROUND_TIMEOUT_MS }));
  return withSchema('http_outbox', async (schema) => {
    const system = ActorSystem.create('bench-http', {
      journal: postgresJournal({ connectionString: PG_URL, schema, applicationName: 'sf-bench-http' }),
      snapshotStore: postgresSnapshotStore({ connectionString: PG_URL, schema }),
      logger: silent,
      transports: [transport()],
    });
    try {
      const outbox = Outbox.start(system, { redeliverInterval: ROUND_TIMEOUT_MS, ...options.outbox });
      const destination = { transport: 'http' as const, url: sink.url };
      const delivered = async (total: number): Promise<void> =>
        waitUntil(async () => {
          const stats = await outbox.stats();
          return stats.inFlight === 0 && stats.confirmed === total;
        });
      await produce(warmup, (n) => outbox.send(destination, orderPlaced(n)));
      await delivered(warmup);
      return await timed(sink, count, async () => {
        await produce(count, (n) => outbox.send(destination, orderPlaced(n)), warmup);
        await delivered(warmup + count);
      });
    } finally {
      await system.terminate();
    }
  });
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The Outbox against another way of delivering, round by round: one table row with every round in its name. */
export function comparison(label: string, outbox: readonly RoundResult[], other: readonly RoundResult[], target?: { text: string; ratio: number }): BenchResult {
  const ratios = outbox.map((result, i) => round2(result.rate / other[i]!.rate));
  const ratio = median(ratios);
  const rounds = outbox.map((result, i) => `${result.rate}/${other[i]!.rate}`).join(', ');
  return {
    name: `${label} (rounds Outbox/other: ${rounds}; ratios ${ratios.join(', ')})`,
    value: median(outbox.map((result) => result.rate)),
    unit: 'messages/s',
    baseline: median(other.map((result) => result.rate)),
    ratio,
    ...(target ? { target: target.text, meetsTarget: ratio >= target.ratio } : {}),
  };
}

/** Node CPU per message and POSTs per message of one way of delivering, every round. */
export function cpuRow(label: string, rounds: readonly RoundResult[]): BenchResult {
  const cpu = median(rounds.map((result) => result.cpuMicros));
  const posts = rounds.map((result) => round2(result.posts / MESSAGES)).join(', ');
  return {
    name: `${label}: node CPU per message (rounds ${rounds.map((result) => result.cpuMicros.toFixed(0)).join(', ')}; POSTs per message ${posts})`,
    value: Math.round(cpu),
    unit: 'µs/message',
  };
}
