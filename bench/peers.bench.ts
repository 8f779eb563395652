/**
 * `npm run bench -- peers`: the HTTP-delivery workload (bench/http-workload.ts) through job queues that
 * users would otherwise pick, in alternating rounds with the Outbox, so that "N× pg-boss 10" is one
 * command away. Each peer gets the best setup found for IN_FLIGHT requests at most, and the same
 * undici client the raw ceiling uses:
 *
 * - pg-boss 10 (the last major for Node 20), on the same PostgreSQL: one `send` per message, as the
 *   Outbox gets one `send` per message; 4 loops each `fetch`ing 16 jobs, posting them at once and
 *   `complete`-ing them in one call. (`work()` polls at most every 0.5 s per worker and waits out the
 *   rest of the interval after each batch, which caps 64 jobs in flight at 128/s.)
 * - BullMQ 5 on Redis, where Redis answers (REDIS_URL, default 127.0.0.1:6379): `add` per message, a
 *   Worker with concurrency 64, completed jobs removed. Whether Redis keeps anything on disk is read
 *   from its config and printed: without AOF or RDB saves it is not durable, unlike the other two.
 *
 * A peer that is not installed or whose server does not answer is skipped with a reason.
 */
import type PgBossType from 'pg-boss';
import { type Benchmark, type BenchResult, reachable } from './harness.js';
import {
  comparison,
  cpuRow,
  IN_FLIGHT,
  MESSAGES,
  orderPlaced,
  outboxRound,
  PG_URL,
  produce,
  ROUNDS,
  type RoundResult,
  type Sink,
  startSink,
  timed,
  undiciClient,
  waitUntil,
  withSchema,
} from './http-workload.js';

const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const PGBOSS_LOOPS = 4;
const PGBOSS_BATCH = IN_FLIGHT / PGBOSS_LOOPS;
const QUEUE = 'bench-http';

interface Peer {
  readonly label: string;
  /** Why it cannot run here, if it cannot. */
  readonly unavailable?: string;
  round(sink: Sink): Promise<RoundResult>;
}

function skipped(label: string, why: string): BenchResult {
  return { name: `peers: ${label} skipped: ${why}`, value: Number.NaN, unit: '' };
}

async function importOrReason<T>(name: string): Promise<T | string> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    return `${name} is not installed (${(error as Error).message.split('\n')[0]})`;
  }
}

async function pgBoss(): Promise<Peer> {
  const module = await importOrReason<{ default: typeof PgBossType }>('pg-boss');
  const label = 'pg-boss 10';
  if (typeof module === 'string') return { label, unavailable: module, round: async () => Promise.reject(new Error(module)) };
  const PgBoss = module.default;
  return {
    label,
    round: (sink) =>
      withSchema('pgboss', async (schema) => {
        const boss = new PgBoss({ connectionString: PG_URL, schema, application_name: 'sf-bench-pgboss', schedule: false, supervise: false });
        boss.on('error', () => {});
        const http = undiciClient(new URL(sink.url));
        let completed = 0;
        let stopping = false;
        const loop = async (): Promise<void> => {
          while (!stopping) {
            const jobs = await boss.fetch<ReturnType<typeof orderPlaced>>(QUEUE, { batchSize: PGBOSS_BATCH });
            if (jobs.length === 0) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              continue;
            }
            await Promise.all(jobs.map((job, i) => http.post(Buffer.from(JSON.stringify(job.data)), completed + i)));
            await boss.complete(
              QUEUE,
              jobs.map((job) => job.id),
            );
            completed += jobs.length;
          }
        };
        try {
          await boss.start();
          await boss.createQueue(QUEUE);
          const loops = Array.from({ length: PGBOSS_LOOPS }, loop);
          const deliver = async (offset: number, count: number): Promise<void> => {
            const target = completed + count;
            await produce(count, (n) => boss.send(QUEUE, orderPlaced(n)), offset);
            await waitUntil(() => completed >= target);
          };
          await deliver(0, 500);
          const result = await timed(sink, MESSAGES, () => deliver(500, MESSAGES));
          stopping = true;
          await Promise.all(loops);
          return result;
        } finally {
          stopping = true;
          await http.close();
          await boss.stop({ graceful: false, wait: true, close: true });
        }
      }),
  };
}

type BullMq = typeof import('bullmq');

/** What Redis keeps on disk, from CONFIG GET: "non-durable: ..." when nothing. */
async function redisDurability(bullmq: BullMq, connection: { host: string; port: number }): Promise<string> {
  const queue = new bullmq.Queue(`${QUEUE}-probe-${process.pid}`, { connection });
  try {
    // BullMQ's client is an ioredis instance; its type here names only what BullMQ itself uses.
    const client = (await queue.client) as unknown as { config(...args: string[]): Promise<unknown> };
    const [, appendonly] = (await client.config('GET', 'appendonly')) as [string, string];
    const [, save] = (await client.config('GET', 'save')) as [string, string];
    if (appendonly === 'yes') return `AOF on (appendfsync ${((await client.config('GET', 'appendfsync')) as [string, string])[1]})`;
    return save === '' ? 'non-durable: Redis keeps nothing on disk (appendonly no, no RDB saves)' : `non-durable between RDB saves (appendonly no, save "${save}")`;
  } finally {
    await queue.close();
  }
}

async function bullMq(): Promise<Peer> {
  const module = await importOrReason<BullMq>('bullmq');
  if (typeof module === 'string') return { label: 'BullMQ 5', unavailable: module, round: async () => Promise.reject(new Error(module)) };
  if (!(await reachable(REDIS_URL.href, 6379)))
    return { label: 'BullMQ 5', unavailable: `Redis not reachable at ${REDIS_URL.host}`, round: async () => Promise.reject(new Error('no Redis')) };
  const connection = { host: REDIS_URL.hostname, port: Number(REDIS_URL.port) || 6379 };
  const durability = await redisDurability(module, connection);
  return {
    label: `BullMQ 5 on Redis, ${durability}`,
    round: async (sink) => {
      const name = `${QUEUE}-${process.pid}-${Date.now()}`;
      const queue = new module.Queue(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
      const http = undiciClient(new URL(sink.url));
      let completed = 0;
      const worker = new module.Worker(
        name,
        async (job) => {
          const status = await http.post(Buffer.from(JSON.stringify(job.data)), Number(job.id));
          if (status < 200 || status > 299) throw new Error(`sink answered ${status}`);
        },
        { connection, concurrency: IN_FLIGHT },
      );
      worker.on('completed', () => completed++);
      worker.on('error', () => {});
      try {
        await worker.waitUntilReady();
        const deliver = async (offset: number, count: number): Promise<void> => {
          const target = completed + count;
          await produce(count, (n) => queue.add('m', orderPlaced(n)), offset);
          await waitUntil(() => completed >= target);
        };
        await deliver(0, 500);
        return await timed(sink, MESSAGES, () => deliver(500, MESSAGES));
      } finally {
        await worker.close(true);
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
        await http.close();
      }
    },
  };
}

async function peers(): Promise<readonly BenchResult[]> {
  const available: Peer[] = [];
  const rows: BenchResult[] = [];
  for (const peer of [await pgBoss(), await bullMq()]) {
    if (peer.unavailable) {
      console.log(`\n  ${peer.label}: skipped, ${peer.unavailable}`);
      rows.push(skipped(peer.label, peer.unavailable));
    } else available.push(peer);
  }
  if (available.length === 0) return rows;
  const sink = await startSink();
  try {
    const outbox: RoundResult[] = [];
    const others = available.map(() => [] as RoundResult[]);
    for (let round = 0; round < ROUNDS; round++) {
      outbox.push(await outboxRound(sink));
      for (const [i, peer] of available.entries()) others[i]!.push(await peer.round(sink));
    }
    const label = `HTTP delivery, ${MESSAGES} x ~200 B, ${IN_FLIGHT} in flight`;
    for (const [i, peer] of available.entries()) {
      const isPgBoss = peer.label.startsWith('pg-boss');
      rows.push(comparison(`peers: ${label}: Outbox on PostgreSQL / ${peer.label}`, outbox, others[i]!, isPgBoss ? { text: '>= 5', ratio: 5 } : undefined));
    }
    rows.push(cpuRow(`peers: ${label}, Outbox`, outbox));
    for (const [i, peer] of available.entries()) rows.push(cpuRow(`peers: ${label}, ${peer.label}`, others[i]!));
    return rows;
  } finally {
    await sink.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'peers: HTTP delivery against pg-boss and BullMQ', needs: ['postgres'], optIn: true, run: peers }];
