/**
 * HTTP delivery on PostgreSQL (issue 16): the Outbox with httpTransport against the raw ceiling, the
 * least work a durable HTTP delivery needs, in alternating rounds: a group-committed INSERT of each
 * message (plain `pg`, one statement for whatever is waiting), a keep-alive POST (undici 7's Pool, and
 * node:http with a keep-alive Agent: the faster of the two in each round is the ceiling), and a
 * group-committed INSERT of a confirmation row. The workload is bench/http-workload.ts's.
 */
import http from 'node:http';
import pg from 'pg';
import type { Benchmark, BenchResult } from './harness.js';
import {
  headers,
  type HttpClient,
  undiciClient,
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
  withSchema,
} from './http-workload.js';

/** Items added while one statement runs go into the next one together (one statement in flight). */
class GroupCommit<T> {
  #waiting: { item: T; done: (error?: Error) => void }[] = [];
  #busy = false;

  constructor(private readonly write: (items: T[]) => Promise<void>) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.#busy) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#busy = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await this.write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.done();
      } catch (error) {
        for (const entry of batch) entry.done(error as Error);
      }
    }
    this.#busy = false;
  }
}

/** At most `limit` running at once, the rest queued. */
function limited(limit: number, run: (id: number) => Promise<void>): (id: number) => void {
  const queue: number[] = [];
  let active = 0;
  const next = (): void => {
    while (active < limit && queue.length > 0) {
      active++;
      void run(queue.shift()!).finally(() => {
        active--;
        next();
      });
    }
  };
  return (id) => {
    queue.push(id);
    next();
  };
}

function nodeHttpClient(url: URL): HttpClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  return {
    post: (body, id) =>
      new Promise((resolve, reject) => {
        const request = http.request(url, { method: 'POST', headers: headers(body, id), agent }, (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode ?? 0));
          response.once('error', reject);
        });
        request.once('error', reject);
        request.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

/** One raw round: accept (INSERT, group-committed) -> POST -> confirm (INSERT, group-committed), until every confirmation is committed. */
async function rawRound(sink: Sink, client: 'undici' | 'node:http', count = MESSAGES, warmup = 500): Promise<RoundResult> {
  return withSchema('http_raw', async (schema) => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sf-bench-http-raw' });
    const url = new URL(sink.url);
    const http = client === 'undici' ? undiciClient(url) : nodeHttpClient(url);
    try {
      await pool.query(`create schema "${schema}"`);
      await pool.query(`create table "${schema}".messages (id bigint primary key, destination text not null, payload jsonb not null)`);
      await pool.query(`create table "${schema}".confirmations (id bigint primary key)`);
      const accepts = new GroupCommit<{ id: number; json: string }>(async (rows) => {
        await pool.query(`insert into "${schema}".messages (id, destination, payload) select id, $1, payload::jsonb from unnest($2::bigint[], $3::text[]) as t(id, payload)`, [
          sink.url,
          rows.map((row) => row.id),
          rows.map((row) => row.json),
        ]);
      });
      const confirms = new GroupCommit<number>(async (ids) => {
        await pool.query(`insert into "${schema}".confirmations (id) select * from unnest($1::bigint[])`, [ids]);
      });
      const bodies = new Map<number, Buffer>();
      let confirmed = 0;
      let expected = 0;
      let allConfirmed: () => void = () => {};
      const deliver = limited(IN_FLIGHT, async (id) => {
        const status = await http.post(bodies.get(id)!, id);
        if (status < 200 || status > 299) throw new Error(`sink answered ${status}`);
        bodies.delete(id);
        await confirms.add(id);
        confirmed++;
        if (confirmed === expected) allConfirmed();
      });
      const accept = async (n: number): Promise<void> => {
        const json = JSON.stringify(orderPlaced(n));
        await accepts.add({ id: n, json });
        bodies.set(n, Buffer.from(json));
        deliver(n);
      };
      const run = async (offset: number, total: number): Promise<void> => {
        const done = new Promise<void>((resolve) => (allConfirmed = resolve));
        expected += total;
        await produce(total, accept, offset);
        await done;
      };
      await run(0, warmup);
      return await timed(sink, count, () => run(warmup, count));
    } finally {
      await http.close();
      await pool.end();
    }
  });
}

async function outboxAgainstCeiling(): Promise<readonly BenchResult[]> {
  const sink = await startSink();
  try {
    const outbox: RoundResult[] = [];
    const undici: RoundResult[] = [];
    const nodeHttp: RoundResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      undici.push(await rawRound(sink, 'undici'));
      outbox.push(await outboxRound(sink));
      nodeHttp.push(await rawRound(sink, 'node:http'));
    }
    const ceiling = undici.map((result, i) => (result.rate >= nodeHttp[i]!.rate ? result : nodeHttp[i]!));
    const label = `HTTP delivery, PostgreSQL, ${MESSAGES} x ~200 B, ${IN_FLIGHT} in flight`;
    return [
      comparison(`${label}: Outbox / raw ceiling (the faster client each round)`, outbox, ceiling, { text: '>= 0.6', ratio: 0.6 }),
      comparison(`${label}: Outbox / raw with undici 7 Pool`, outbox, undici),
      comparison(`${label}: Outbox / raw with node:http keep-alive Agent`, outbox, nodeHttp),
      cpuRow(`${label}, Outbox`, outbox),
      cpuRow(`${label}, raw undici`, undici),
      cpuRow(`${label}, raw node:http`, nodeHttp),
    ];
  } finally {
    await sink.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'delivery: HTTP, PostgreSQL, Outbox / raw ceiling', needs: ['postgres'], run: outboxAgainstCeiling }];
