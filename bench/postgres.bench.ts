/**
 * PostgreSQL journal benchmarks, each against a raw `pg` baseline measured in the same run, in a schema
 * of their own (dropped at the end). Needs PG_URL or PostgreSQL on 127.0.0.1:5432.
 *
 *   npx tsx -e "import('./bench/postgres.bench.ts').then(async m=>{for(const b of m.benchmarks) console.log(await b.run())})"
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresJournal, type PostgresJournal } from '../journal/postgres/index.js';
import type { AtomicWrite, PersistentRepr } from '../src/persistence/persistent-repr.js';
import { elapsedMsSince, percentile, perSecond, type Benchmark, type BenchResult } from './harness.js';

const CONNECTION = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WRITERS = 1000;
const EVENTS_PER_WRITER = 150;
const RAW_BATCH = 1000;
const SEQUENTIAL_WRITES = 3000;
const REPLAY_EVENTS = 100_000;

export function event(persistenceId: string, sequenceNr: number): PersistentRepr {
  return {
    persistenceId,
    sequenceNr,
    writerUuid: 'bench-writer-0001',
    timestamp: Date.now(),
    tags: [],
    serializerId: 'json',
    manifest: 'Bench.v1',
    payload: `{"type":"Deposited","account":"${persistenceId}","amount":${sequenceNr},"note":"benchmark event payload"}`,
  };
}

const COLUMNS = 'persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes, tags';

/** (a) The ceiling: the same rows, multi-row INSERTs of RAW_BATCH rows each with plain pg, one at a time. */
export async function rawBatched(pool: pg.Pool, table: string, rows: readonly PersistentRepr[], style: 'unnest' | 'values'): Promise<number> {
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    for (let offset = 0; offset < rows.length; offset += RAW_BATCH) {
      const batch = rows.slice(offset, offset + RAW_BATCH);
      if (style === 'unnest') {
        await client.query({
          name: `raw_unnest_${table.length}`,
          text: `insert into ${table} (${COLUMNS})
                 select p, s, w, t, si, m, j, null, '{}' from unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::jsonb[])
                   as u(p, s, w, t, si, m, j)`,
          values: [
            batch.map((e) => e.persistenceId),
            batch.map((e) => e.sequenceNr),
            batch.map((e) => e.writerUuid),
            batch.map((e) => e.timestamp),
            batch.map((e) => e.serializerId),
            batch.map((e) => e.manifest),
            batch.map((e) => e.payload as string),
          ],
        });
      } else {
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const e of batch) {
          const n = values.length;
          tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, null, '{}')`);
          values.push(e.persistenceId, e.sequenceNr, e.writerUuid, e.timestamp, e.serializerId, e.manifest, e.payload);
        }
        await client.query(`insert into ${table} (${COLUMNS}) values ${tuples.join(',')}`, values);
      }
    }
    return perSecond(rows.length, elapsedMsSince(started));
  } finally {
    client.release();
  }
}

/** (b) 1000 emulated persistent actors, each persisting one event at a time. */
async function concurrentWriters(journal: PostgresJournal, prefix: string, writers: number, perWriter: number): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const id = `${prefix}-${w}`;
      for (let nr = 1; nr <= perWriter; nr++) {
        const [outcome] = await journal.writeMessages([{ persistenceId: id, events: [event(id, nr)] }]);
        if (outcome!.status !== 'ok') throw new Error(`write ${id}/${nr}: ${outcome!.status}`);
      }
    }),
  );
  return perSecond(writers * perWriter, elapsedMsSince(started));
}

async function sequentialJournal(journal: PostgresJournal, id: string, count: number, first: number): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (let nr = first; nr < first + count; nr++) {
    const t = process.hrtime.bigint();
    const write: AtomicWrite = { persistenceId: id, events: [event(id, nr)] };
    const [outcome] = await journal.writeMessages([write]);
    latencies.push(elapsedMsSince(t));
    if (outcome!.status !== 'ok') throw new Error(`sequential write ${nr}: ${outcome!.status}`);
  }
  return { ms: elapsedMsSince(started), latencies };
}

async function sequentialRaw(pool: pg.Pool, table: string, id: string, count: number, first: number): Promise<{ ms: number; latencies: number[] }> {
  const client = await pool.connect();
  const latencies: number[] = [];
  try {
    const started = process.hrtime.bigint();
    for (let nr = first; nr < first + count; nr++) {
      const t = process.hrtime.bigint();
      const e = event(id, nr);
      await client.query({
        name: `raw_single_${table.length}`,
        text: `insert into ${table} (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, null, '{}')`,
        values: [e.persistenceId, e.sequenceNr, e.writerUuid, e.timestamp, e.serializerId, e.manifest, e.payload],
      });
      latencies.push(elapsedMsSince(t));
    }
    return { ms: elapsedMsSince(started), latencies };
  } finally {
    client.release();
  }
}

async function replayRate(journal: PostgresJournal, id: string, expected: number): Promise<number> {
  let count = 0;
  const started = process.hrtime.bigint();
  await journal.replayMessages(id, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    count++;
  });
  const ms = elapsedMsSince(started);
  if (count !== expected) throw new Error(`replayed ${count} of ${expected}`);
  return perSecond(count, ms);
}

/** The replay ceiling: the same pages (5000 rows, keyset) read with plain pg, rows in array mode, nothing built per row. */
async function rawReplayRate(pool: pg.Pool, schema: string, id: string, expected: number): Promise<number> {
  const client = await pool.connect();
  try {
    let count = 0;
    let next = 1;
    const started = process.hrtime.bigint();
    for (;;) {
      const { rows } = await client.query<unknown[]>({
        name: `raw_replay_${schema.length}`,
        text: `select sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json::text, payload_bytes, tags
               from "${schema}".journal where persistence_id = $1 and sequence_nr >= $2 and sequence_nr <= $3
               order by sequence_nr limit $4`,
        // The journal's statement shape: with a literal limit and no upper bound, the planner's custom
        // plan for this one-stream table is a scan and sort, about 15 times slower per page.
        values: [id, next, Number.MAX_SAFE_INTEGER, 5000],
        rowMode: 'array',
      });
      count += rows.length;
      if (rows.length < 5000) break;
      next = Number(rows[rows.length - 1]![0]) + 1;
    }
    const ms = elapsedMsSince(started);
    if (count !== expected) throw new Error(`raw replay read ${count} of ${expected}`);
    return perSecond(count, ms);
  } finally {
    client.release();
  }
}

/** An order with a dozen lines: about 1 KB of JSON, where rendering jsonb as text starts to dominate a replay. */
function largeEvent(persistenceId: string, sequenceNr: number): PersistentRepr {
  const lines = Array.from({ length: 12 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1, price: 19.99 + i, note: 'some text for the line' }));
  return {
    ...event(persistenceId, sequenceNr),
    payload: JSON.stringify({ type: 'OrderPlaced', orderId: `o-${sequenceNr}`, customer: { id: 'c-1', name: 'Someone', tier: 'gold' }, lines }),
  };
}

async function fillReplayStream(journal: PostgresJournal, id: string, make: (id: string, nr: number) => PersistentRepr): Promise<void> {
  for (let from = 1; from <= REPLAY_EVENTS; from += 5000) {
    const events: PersistentRepr[] = [];
    for (let nr = from; nr < from + 5000; nr++) events.push(make(id, nr));
    await journal.writeMessages([{ persistenceId: id, events }]);
  }
}

/** Journal and raw replays alternate, three of each after a warm-up, so that other load falls on both alike. */
async function replayPair(journal: PostgresJournal, pool: pg.Pool, schema: string, id: string): Promise<{ journal: number; raw: number }> {
  await replayRate(journal, id, REPLAY_EVENTS);
  await rawReplayRate(pool, schema, id, REPLAY_EVENTS);
  const journalRates: number[] = [];
  const rawRates: number[] = [];
  for (let i = 0; i < 3; i++) {
    journalRates.push(await replayRate(journal, id, REPLAY_EVENTS));
    rawRates.push(await rawReplayRate(pool, schema, id, REPLAY_EVENTS));
  }
  return { journal: median(journalRates), raw: median(rawRates) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function run(): Promise<readonly BenchResult[]> {
  const schema = `sf_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: CONNECTION, max: 2 });
  const journal = postgresJournal({ connectionString: CONNECTION, schema, applicationName: 'sf-bench', poolSize: 4 });
  try {
    await journal.start();
    const raw = `"${schema}".raw_events`;
    await admin.query(`create table ${raw} (like "${schema}".journal including all)`);

    // Warm-up: JIT, prepared statements, table and index pages.
    await concurrentWriters(journal, 'warm', 200, 20);
    const warmRows = Array.from({ length: 5000 }, (_, i) => event(`warm-raw-${i % 200}`, Math.floor(i / 200) + 1));
    await rawBatched(admin, raw, warmRows, 'unnest');

    const rows: PersistentRepr[] = [];
    for (let nr = 1; nr <= EVENTS_PER_WRITER; nr++) for (let w = 0; w < WRITERS; w++) rows.push(event(`raw-${w}`, nr));
    const rawUnnest = await rawBatched(admin, raw, rows, 'unnest');
    await admin.query(`truncate ${raw}`);
    const rawValues = await rawBatched(admin, raw, rows, 'values');
    const ceiling = Math.max(rawUnnest, rawValues);
    const journalRate = await concurrentWriters(journal, 'actor', WRITERS, EVENTS_PER_WRITER);

    // What LISTEN/NOTIFY costs the write path: the same writers with and without the notification, in
    // alternating rounds on the same schema.
    const quiet = postgresJournal({ connectionString: CONNECTION, schema, applicationName: 'sf-bench-quiet', poolSize: 4, notifyQueries: false });
    const notifyRounds: number[] = [];
    const quietRounds: number[] = [];
    try {
      await concurrentWriters(quiet, 'quiet-warm', 200, 20);
      for (let round = 0; round < 3; round++) {
        notifyRounds.push(await concurrentWriters(journal, `notify-${round}`, WRITERS, EVENTS_PER_WRITER / 2));
        quietRounds.push(await concurrentWriters(quiet, `quiet-${round}`, WRITERS, EVENTS_PER_WRITER / 2));
      }
    } finally {
      await quiet.close();
    }
    const notifyRatios = notifyRounds.map((rate, i) => Math.round((rate / quietRounds[i]!) * 100) / 100);

    // Raw and journal alternate in rounds, so that checkpoints, autovacuum and other load on the machine
    // fall on both alike.
    await sequentialJournal(journal, 'seq-warm', 300, 1);
    await sequentialRaw(admin, raw, 'raw-single-warm', 300, 1);
    const rawSingle = { rate: 0, latencies: [] as number[], ms: 0 };
    const sequential = { rate: 0, latencies: [] as number[], ms: 0 };
    const rounds = 10;
    const perRound = SEQUENTIAL_WRITES / rounds;
    for (let round = 0; round < rounds; round++) {
      for (const [target, measure] of [
        [rawSingle, () => sequentialRaw(admin, raw, 'raw-single', perRound, round * perRound + 1)],
        [sequential, () => sequentialJournal(journal, 'seq', perRound, round * perRound + 1)],
      ] as const) {
        const result = await measure();
        target.latencies.push(...result.latencies);
        target.ms += result.ms;
      }
    }
    for (const target of [rawSingle, sequential]) {
      target.latencies.sort((a, b) => a - b);
      target.rate = perSecond(SEQUENTIAL_WRITES, target.ms);
    }

    await fillReplayStream(journal, 'replay', event);
    await fillReplayStream(journal, 'replay-large', largeEvent);
    const replay = await replayPair(journal, admin, schema, 'replay');
    const replayLarge = await replayPair(journal, admin, schema, 'replay-large');

    const p50 = percentile(sequential.latencies, 50);
    const p99 = percentile(sequential.latencies, 99);
    const ratio = (value: number, base: number): number => Math.round((value / base) * 100) / 100;
    return [
      { name: `raw pg: batched INSERT (unnest), ${RAW_BATCH} rows/statement`, value: rawUnnest, unit: 'rows/s' },
      { name: `raw pg: batched INSERT (VALUES), ${RAW_BATCH} rows/statement`, value: rawValues, unit: 'rows/s' },
      {
        name: `postgresJournal: ${WRITERS} writers with LISTEN/NOTIFY (default) / notifyQueries: false (median of 3; round ratios ${notifyRatios.join(', ')})`,
        value: median(notifyRounds),
        unit: 'events/s',
        baseline: median(quietRounds),
        ratio: median(notifyRatios),
      },
      {
        name: `postgresJournal: ${WRITERS} concurrent writers, one event at a time`,
        value: journalRate,
        unit: 'events/s',
        baseline: ceiling,
        ratio: ratio(journalRate, ceiling),
        target: '>= 0.6 ratio',
        meetsTarget: journalRate / ceiling >= 0.6,
      },
      {
        name: 'postgresJournal: single writer, sequential',
        value: sequential.rate,
        unit: 'events/s',
        baseline: rawSingle.rate,
        ratio: ratio(sequential.rate, rawSingle.rate),
        target: '>= 0.8 ratio',
        meetsTarget: sequential.rate / rawSingle.rate >= 0.8,
      },
      { name: 'postgresJournal: single writer latency p50', value: Math.round(p50 * 1000) / 1000, unit: 'ms' },
      { name: 'postgresJournal: single writer latency p99', value: Math.round(p99 * 1000) / 1000, unit: 'ms', target: '< 2 ms', meetsTarget: p99 < 2 },
      { name: 'raw pg: single-row INSERT latency p50', value: Math.round(percentile(rawSingle.latencies, 50) * 1000) / 1000, unit: 'ms' },
      { name: 'raw pg: single-row INSERT latency p99', value: Math.round(percentile(rawSingle.latencies, 99) * 1000) / 1000, unit: 'ms' },
      {
        name: `postgresJournal: replay ${REPLAY_EVENTS} events of one persistenceId (~110 B JSON; raw: same pages with plain pg)`,
        value: replay.journal,
        unit: 'events/s',
        baseline: replay.raw,
        ratio: ratio(replay.journal, replay.raw),
        target: '>= 500000',
        meetsTarget: replay.journal >= 500_000,
      },
      {
        name: `postgresJournal: replay ${REPLAY_EVENTS} events of one persistenceId (~1 KB JSON; raw: same pages with plain pg)`,
        value: replayLarge.journal,
        unit: 'events/s',
        baseline: replayLarge.raw,
        ratio: ratio(replayLarge.journal, replayLarge.raw),
      },
    ];
  } finally {
    await journal.close();
    await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await admin.end();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'postgres journal', needs: ['postgres'], run }];
