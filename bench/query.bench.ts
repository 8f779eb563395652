/**
 * The read side on PostgreSQL (issue 17), in a database of its own (created and dropped here, so that
 * `pg_stat_database` counts only this benchmark's statements): catch-up reads against raw keyset pages,
 * live fan-out (persist-to-yield p99 and statements/s at 100, 1 000 and 10 000 live queries), the
 * seeds' burst of 100 000 small current queries, and `postgresProjection` against raw batched INSERTs
 * with its live lag. Every ratio is the median of three alternating rounds, all rounds reported.
 *
 * STEADFAST_BENCH_QUERY_EVENTS sets the events written for the catch-up (default 1 000 000, 10% tagged,
 * 10 per persistenceId; the burst and the projection read those too).
 */
import pg from 'pg';
import { pino } from 'pino';
import { postgresJournal, postgresProjection, type PostgresJournal } from '../journal/postgres/index.js';
import type { PersistentRepr } from '../src/persistence/persistent-repr.js';
import { ActorSystem, MAX_SEQUENCE_NR, type ReadJournalOptions, readJournalOf } from '../src/index.js';
import { type Benchmark, type BenchResult, elapsedMsSince, median, percentile, perSecond } from './harness.js';

const CONNECTION = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.STEADFAST_BENCH_QUERY_EVENTS ?? 1_000_000);
const PER_ID = 10;
const PAGE_SIZE = 500;
const LIVE_COUNTS = [100, 1_000, 10_000];
const LIVE_RATE = 1_000;
const LIVE_WINDOW_MS = 10_000;
const BURST = 100_000;
const SCHEMA = 'bench';
const COLUMNS = `j.ordering, j.persistence_id, j.sequence_nr, j.writer_uuid, j.timestamp_ms, j.serializer_id, j.manifest, j.payload_json::text, j.payload_bytes, j.tags`;

function repr(persistenceId: string, sequenceNr: number, tags: string[], payload: object): PersistentRepr {
  return { persistenceId, sequenceNr, writerUuid: 'bench-query', timestamp: Date.now(), tags, serializerId: 'json', manifest: 'Deposited', payload: JSON.stringify(payload) };
}

const round2 = (value: number): number => Math.round(value * 100) / 100;
const ms = (value: number): number => Math.round(value * 10) / 10;
const silent = pino({ level: 'silent' });

function system(name: string, connectionString: string, query?: ReadJournalOptions): ActorSystem {
  return ActorSystem.create(name, {
    journal: postgresJournal({ connectionString, schema: SCHEMA, poolSize: 4, applicationName: `sf-bench-${name}` }),
    persistence: query === undefined ? undefined : { query },
    logger: silent,
  });
}

/** 10 events per persistenceId, every tenth event tagged `tenth`, in writes of 2 000 events, 4 in flight. */
async function fill(journal: PostgresJournal, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  const ids = Math.ceil(count / PER_ID);
  let nextId = 0;
  const worker = async () => {
    while (nextId < ids) {
      const from = nextId;
      nextId = Math.min(ids, from + 200);
      const writes = [];
      for (let id = from; id < nextId; id++) {
        const persistenceId = `acct-${id}`;
        const events = Array.from({ length: PER_ID }, (_, i) =>
          repr(persistenceId, i + 1, (id * PER_ID + i) % 10 === 0 ? ['tenth'] : [], { amount: i + 1, note: 'catch-up event' }),
        );
        writes.push({ persistenceId, events });
      }
      for (const outcome of await journal.writeMessages(writes)) if (outcome.status !== 'ok') throw new Error(`fill: ${outcome.status}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return elapsedMsSince(started);
}

/**
 * A page of tagged events as the read journal's statement takes it (journal/postgres/queries.ts): the
 * tag index's page, then each event by ordering. The baselines use the same shape, so that the ratios
 * measure what the read side adds, not a statement shape (the merge join of a plain join read every
 * event in the range).
 */
const TAG_PAGE = (tag: string, after: string, limit: string): string =>
  `(select t.ordering from ${SCHEMA}.event_tags t where t.tag = ${tag} and t.ordering > ${after} order by t.ordering limit ${limit}) t join ${SCHEMA}.journal j on j.ordering = t.ordering`;

/** The same rows as the read journal's, keyset-paged with plain pg (same page size), nothing built per row. */
async function rawPages(pool: pg.Pool, tag: string | undefined): Promise<number> {
  const text =
    tag === undefined
      ? `select ${COLUMNS} from ${SCHEMA}.journal j where j.ordering > $1 order by j.ordering limit $2`
      : `select ${COLUMNS} from ${TAG_PAGE('$3', '$1', '$2')} order by t.ordering`;
  const client = await pool.connect();
  try {
    let after = 0;
    let count = 0;
    for (;;) {
      const { rows } = await client.query<unknown[]>({ text, values: tag === undefined ? [after, PAGE_SIZE] : [after, PAGE_SIZE, tag], rowMode: 'array' });
      count += rows.length;
      if (rows.length < PAGE_SIZE) return count;
      after = Number(rows[rows.length - 1]![0]);
    }
  } finally {
    client.release();
  }
}

async function drain(iterable: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of iterable) count++;
  return count;
}

interface Paired {
  readonly value: number;
  readonly baseline: number;
  readonly rounds: readonly number[];
}

/** A warm-up of each, then three rounds of raw and steadfast in turn; rates in events/s, ratio per round. */
async function alternate(count: number, raw: () => Promise<number>, ours: () => Promise<number>): Promise<Paired> {
  await raw();
  await ours();
  const raws: number[] = [];
  const oursRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [measure, into] of [
      [raw, raws],
      [ours, oursRates],
    ] as const) {
      const started = process.hrtime.bigint();
      const read = await measure();
      if (read !== count) throw new Error(`read ${read} of ${count}`);
      into.push(perSecond(count, elapsedMsSince(started)));
    }
  }
  return { value: median(oursRates), baseline: median(raws), rounds: oursRates.map((rate, i) => round2(rate / raws[i]!)) };
}

async function xactCommits(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = current_database()');
  return Number(rows[0]!.n);
}

/**
 * Writes one event at a time to random ids of `ids` at `rate`/s for `windowMs` (never two writes of one
 * id at once); `onStart(key)` is called just before each persist. Returns the keys written.
 */
async function paced(
  journal: PostgresJournal,
  ids: readonly string[],
  next: Map<string, number>,
  rate: number,
  windowMs: number,
  tags: string[],
  onStart: (key: string) => void,
): Promise<string[]> {
  const keys: string[] = [];
  const busy = new Set<string>();
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let issued = 0;
  while (performance.now() - started < windowMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; issued < due; issued++) {
      let id = ids[Math.floor(Math.random() * ids.length)]!;
      for (let tries = 0; busy.has(id) && tries < 20; tries++) id = ids[Math.floor(Math.random() * ids.length)]!;
      // Every id tried has a write in flight: the rest of this tick's writes wait for the next tick.
      if (busy.has(id)) break;
      const sequenceNr = next.get(id) ?? 1;
      next.set(id, sequenceNr + 1);
      const key = `${id}#${sequenceNr}`;
      keys.push(key);
      busy.add(id);
      onStart(key);
      const write = journal.writeMessages([{ persistenceId: id, events: [repr(id, sequenceNr, tags, { amount: 1, key })] }]).then(([outcome]) => {
        if (outcome!.status !== 'ok') throw new Error(`live write: ${outcome!.status}`);
        busy.delete(id);
        pending.delete(write);
      });
      pending.add(write);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  return keys;
}

async function catchUp(url: string, admin: pg.Pool, events: number): Promise<BenchResult[]> {
  const reader = system('catch-up', url);
  try {
    const readJournal = readJournalOf(reader);
    const tagged = Number((await admin.query(`select count(*) as n from ${SCHEMA}.event_tags where tag = 'tenth'`)).rows[0].n);
    const byTag = await alternate(
      tagged,
      () => rawPages(admin, 'tenth'),
      () => drain(readJournal.currentEventsByTag('tenth')),
    );
    const all = await alternate(
      events,
      () => rawPages(admin, undefined),
      () => drain(readJournal.currentAllEvents()),
    );
    return [
      {
        name: `currentEventsByTag, ${tagged} of ${events} events tagged / raw keyset pages of ${PAGE_SIZE} (median of 3; round ratios ${byTag.rounds.join(', ')})`,
        value: byTag.value,
        unit: 'events/s',
        baseline: byTag.baseline,
        ratio: median(byTag.rounds),
        target: '>= 0.7 ratio',
        meetsTarget: median(byTag.rounds) >= 0.7,
      },
      {
        name: `currentAllEvents, ${events} events / raw keyset pages of ${PAGE_SIZE} (median of 3; round ratios ${all.rounds.join(', ')})`,
        value: all.value,
        unit: 'events/s',
        baseline: all.baseline,
        ratio: median(all.rounds),
        target: '>= 0.7 ratio',
        meetsTarget: median(all.rounds) >= 0.7,
      },
    ];
  } finally {
    await reader.terminate();
  }
}

async function fanOut(url: string, admin: pg.Pool): Promise<BenchResult[]> {
  const writer = postgresJournal({ connectionString: url, schema: SCHEMA, poolSize: 4, applicationName: 'sf-bench-live-writer' });
  // As a user would for this many live queries: their first reads all queue at once.
  const reader = system('live', url, { maxQueuedQueries: 100_000, queryThrottleTimeoutMs: 120_000 });
  const results: BenchResult[] = [];
  try {
    await writer.start();
    const readJournal = readJournalOf(reader);
    for (const count of [0, ...LIVE_COUNTS]) {
      const ids = Array.from({ length: Math.max(count, 100) }, (_, i) => `live-${count}-${i}`);
      const next = new Map<string, number>();
      // One event per id first: a query that yields it has done its first read and waits live.
      for (let i = 0; i < ids.length; i += 1000) {
        await writer.writeMessages(ids.slice(i, i + 1000).map((id) => ({ persistenceId: id, events: [repr(id, 1, [], { amount: 0 })] })));
      }
      for (const id of ids) next.set(id, 2);
      const startedAt = new Map<string, number>();
      const latencies: number[] = [];
      const abort = new AbortController();
      // One signal for every query, as a user stopping them all would have (the read journal listens once).
      let first = 0;
      let allStarted: () => void = () => {};
      const ready = new Promise<void>((resolve) => (allStarted = resolve));
      if (count === 0) allStarted();
      const consumers = ids.slice(0, count).map(async (id) => {
        for await (const envelope of readJournal.eventsByPersistenceId(id, 0, MAX_SEQUENCE_NR, { signal: abort.signal })) {
          if (envelope.sequenceNr === 1) {
            if (++first === count) allStarted();
            continue;
          }
          const t0 = startedAt.get(`${id}#${envelope.sequenceNr}`);
          if (t0 !== undefined) latencies.push(performance.now() - t0);
        }
      });
      const ended = Promise.allSettled(consumers);
      const setupStarted = performance.now();
      await ready;
      // Every query has done its first read; wait until no statement of theirs is left queued either.
      while (readJournal.queuedQueries > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const setupMs = performance.now() - setupStarted;
      // A second of writing before the window: the statements of the queries' start are done and counted before it.
      await paced(writer, ids, next, LIVE_RATE, 1_000, [], () => {});
      const before = await xactCommits(admin);
      const windowStarted = performance.now();
      const keys = await paced(writer, ids.slice(0, Math.max(count, 100)), next, LIVE_RATE, LIVE_WINDOW_MS, [], (key) => startedAt.set(key, performance.now()));
      const statements = ((await xactCommits(admin)) - before) / ((performance.now() - windowStarted) / 1000);
      if (count > 0) {
        const deadline = Date.now() + 10_000;
        while (latencies.length < keys.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      abort.abort();
      await ended;
      latencies.sort((a, b) => a - b);
      const p99 = percentile(latencies, 99);
      if (count === 0) {
        results.push({ name: `live fan-out: 0 queries (the writer alone, ${LIVE_RATE} events/s): PostgreSQL statements`, value: Math.round(statements), unit: 'xact_commit/s' });
        continue;
      }
      results.push({
        name: `live fan-out: ${count} eventsByPersistenceId queries, ${LIVE_RATE} events/s: persist-to-yield p99 (p50 ${ms(percentile(latencies, 50))}, max ${ms(latencies.at(-1) ?? Number.NaN)}; ${keys.length - latencies.length} of ${keys.length} not yielded; queries started in ${Math.round(setupMs)} ms)`,
        value: ms(p99),
        unit: 'ms',
        target: '<= 100 ms',
        meetsTarget: p99 <= 100 && latencies.length === keys.length,
      });
      results.push({ name: `live fan-out: ${count} queries: PostgreSQL statements (flat is the goal)`, value: Math.round(statements), unit: 'xact_commit/s' });
    }
    return results;
  } finally {
    await reader.terminate();
    await writer.close();
  }
}

async function burst(url: string, ids: number): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [label, query] of [
    ['defaults (maxQueuedQueries 10 000, queryThrottleTimeoutMs 3 000)', undefined],
    ['maxQueuedQueries 100 000, queryThrottleTimeoutMs 600 000', { maxQueuedQueries: 100_000, queryThrottleTimeoutMs: 600_000 }],
  ] as const) {
    const reader = system('burst', url, query);
    try {
      const readJournal = readJournalOf(reader);
      await drain(readJournal.currentEventsByPersistenceId('acct-0'));
      const started = process.hrtime.bigint();
      const outcomes = await Promise.allSettled(Array.from({ length: BURST }, () => drain(readJournal.currentEventsByPersistenceId(`acct-${Math.floor(Math.random() * ids)}`))));
      const totalMs = elapsedMsSince(started);
      const errors = new Map<string, number>();
      let short = 0;
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          const name = (outcome.reason as Error).name;
          errors.set(name, (errors.get(name) ?? 0) + 1);
        } else if (outcome.value !== PER_ID) short++;
      }
      const failed = [...errors.values()].reduce((a, b) => a + b, 0);
      const described = [...errors].map(([name, n]) => `${n} ${name}`).join(', ') || 'none';
      results.push({
        name: `burst: ${BURST} currentEventsByPersistenceId of ${PER_ID} events at once, ${label}: total time (errors: ${described}; ${short} short)`,
        value: Math.round(totalMs),
        unit: 'ms',
        target: query === undefined ? undefined : 'zero errors',
        meetsTarget: query === undefined ? undefined : failed === 0 && short === 0,
      });
    } finally {
      await reader.terminate();
    }
  }
  return results;
}

const INSERT_ROWS = (table: string) => `insert into ${SCHEMA}.${table} (persistence_id, sequence_nr, amount) select * from unnest($1::text[], $2::int8[], $3::int8[])`;

async function projection(url: string, admin: pg.Pool): Promise<BenchResult[]> {
  const { rows: tagged } = await admin.query<[string, string, string, string]>({
    text: `select j.ordering, j.persistence_id, j.sequence_nr, (j.payload_json->>'amount') from ${SCHEMA}.event_tags t join ${SCHEMA}.journal j on j.ordering = t.ordering where t.tag = 'tenth' order by t.ordering`,
    rowMode: 'array',
  });
  const lastOffset = Number(tagged.at(-1)![0]);
  const projector = system('projection', url);
  const createTable = (table: string) =>
    admin.query(`create table ${SCHEMA}.${table} (persistence_id text, sequence_nr bigint, amount bigint, primary key (persistence_id, sequence_nr))`);
  let tables = 0;
  const raw = async (): Promise<number> => {
    const table = `rm_raw_${tables++}`;
    await createTable(table);
    const client = await admin.connect();
    try {
      const started = process.hrtime.bigint();
      for (let i = 0; i < tagged.length; i += PAGE_SIZE) {
        const batch = tagged.slice(i, i + PAGE_SIZE);
        await client.query(INSERT_ROWS(table), [batch.map((row) => row[1]), batch.map((row) => row[2]), batch.map((row) => row[3])]);
      }
      return perSecond(tagged.length, elapsedMsSince(started));
    } finally {
      client.release();
    }
  };
  // What a hand-written projection does without steadfast: keyset pages by tag, each inserted as it was read.
  const rawLoop = async (): Promise<number> => {
    const table = `rm_loop_${tables++}`;
    await createTable(table);
    const client = await admin.connect();
    try {
      const started = process.hrtime.bigint();
      let after = 0;
      let count = 0;
      for (;;) {
        const { rows } = await client.query<[string, string, string, string]>({
          text: `select j.ordering, j.persistence_id, j.sequence_nr, j.payload_json::text from ${TAG_PAGE(`'tenth'`, '$1', '$2')} order by t.ordering`,
          values: [after, PAGE_SIZE],
          rowMode: 'array',
        });
        if (rows.length === 0) break;
        const amounts = rows.map((row) => (JSON.parse(row[3]) as { amount: number }).amount);
        await client.query(INSERT_ROWS(table), [rows.map((row) => row[1]), rows.map((row) => row[2]), amounts]);
        count += rows.length;
        after = Number(rows[rows.length - 1]![0]);
        if (rows.length < PAGE_SIZE) break;
      }
      if (count !== tagged.length) throw new Error(`raw loop read ${count} of ${tagged.length}`);
      return perSecond(count, elapsedMsSince(started));
    } finally {
      client.release();
    }
  };
  const projected = async (): Promise<number> => {
    const table = `rm_projection_${tables++}`;
    await createTable(table);
    let seenLast: () => void = () => {};
    const last = new Promise<void>((resolve) => (seenLast = resolve));
    const started = process.hrtime.bigint();
    const handle = postgresProjection<{ amount: number }>(projector, {
      name: table,
      query: (readJournal, offset, options) => readJournal.eventsByTag('tenth', offset, options),
      batchSize: PAGE_SIZE,
      handleBatch: async (envelopes, client) => {
        await client.query(INSERT_ROWS(table), [envelopes.map((e) => e.persistenceId), envelopes.map((e) => e.sequenceNr), envelopes.map((e) => e.event.amount)]);
        if (envelopes.at(-1)!.offset === lastOffset) seenLast();
      },
    });
    await last;
    // stop() returns once the batch in hand has committed.
    await handle.stop();
    return perSecond(tagged.length, elapsedMsSince(started));
  };
  const results: BenchResult[] = [];
  try {
    await raw();
    await rawLoop();
    await projected();
    const raws: number[] = [];
    const loops: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < 3; round++) {
      raws.push(await raw());
      loops.push(await rawLoop());
      ours.push(await projected());
    }
    const rounds = ours.map((rate, i) => round2(rate / raws[i]!));
    const loopRounds = ours.map((rate, i) => round2(rate / loops[i]!));
    results.push({
      name: `postgresProjection, handleBatch of ${PAGE_SIZE}, one row per event, ${tagged.length} events / raw batched INSERTs of the same rows (median of 3; round ratios ${rounds.join(', ')})`,
      value: median(ours),
      unit: 'events/s',
      baseline: median(raws),
      ratio: median(rounds),
      target: '>= 0.5 ratio',
      meetsTarget: median(rounds) >= 0.5,
    });
    results.push({
      name: `same postgresProjection / a raw loop reading the same keyset pages by tag and inserting each (median of 3; round ratios ${loopRounds.join(', ')})`,
      value: median(ours),
      unit: 'events/s',
      baseline: median(loops),
      ratio: median(loopRounds),
    });
    results.push(await liveLag(url, projector, createTable));
    return results;
  } finally {
    await projector.terminate();
  }
}

/** Persist to read model: the projection's transaction notifies the keys it wrote, delivered at its commit. */
async function liveLag(url: string, projector: ActorSystem, createTable: (table: string) => Promise<unknown>): Promise<BenchResult> {
  await createTable('rm_live');
  const writer = postgresJournal({ connectionString: url, schema: SCHEMA, poolSize: 4, applicationName: 'sf-bench-lag-writer' });
  const listener = new pg.Client({ connectionString: url });
  const startedAt = new Map<string, number>();
  const lags: number[] = [];
  try {
    await writer.start();
    await listener.connect();
    listener.on('notification', (message) => {
      const now = performance.now();
      for (const key of (message.payload ?? '').split(',')) {
        const t0 = startedAt.get(key);
        if (t0 !== undefined) lags.push(now - t0);
      }
    });
    await listener.query('listen bench_read_model');
    const handle = postgresProjection<{ amount: number; key: string }>(projector, {
      name: 'live-lag',
      query: (readJournal, offset, options) => readJournal.eventsByTag('live', offset, options),
      batchSize: PAGE_SIZE,
      handleBatch: async (envelopes, client) => {
        await client.query(INSERT_ROWS('rm_live'), [envelopes.map((e) => e.persistenceId), envelopes.map((e) => e.sequenceNr), envelopes.map((e) => e.event.amount)]);
        await client.query(`select pg_notify('bench_read_model', $1)`, [envelopes.map((e) => e.event.key).join(',')]);
      },
    });
    const ids = Array.from({ length: 100 }, (_, i) => `lag-${i}`);
    const next = new Map<string, number>();
    await paced(writer, ids, next, LIVE_RATE, 1_000, ['live'], () => {});
    const keys = await paced(writer, ids, next, LIVE_RATE, LIVE_WINDOW_MS, ['live'], (key) => startedAt.set(key, performance.now()));
    const deadline = Date.now() + 10_000;
    while (lags.length < keys.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await handle.stop();
    lags.sort((a, b) => a - b);
    const p99 = percentile(lags, 99);
    return {
      name: `postgresProjection live, ${LIVE_RATE} events/s: persist-to-read-model p99 (p50 ${ms(percentile(lags, 50))}, max ${ms(lags.at(-1) ?? Number.NaN)}; ${keys.length - lags.length} of ${keys.length} not seen)`,
      value: ms(p99),
      unit: 'ms',
      target: '<= 200 ms',
      meetsTarget: p99 <= 200 && lags.length === keys.length,
    };
  } finally {
    await listener.end().catch(() => {});
    await writer.close();
  }
}

async function run(): Promise<readonly BenchResult[]> {
  const database = `sf_bench_query_${process.pid}`;
  const server = new pg.Pool({ connectionString: CONNECTION, max: 1 });
  await server.query(`create database ${database}`);
  const url = new URL(CONNECTION);
  url.pathname = `/${database}`;
  const admin = new pg.Pool({ connectionString: url.href, max: 4 });
  try {
    const filler = postgresJournal({ connectionString: url.href, schema: SCHEMA, poolSize: 4, applicationName: 'sf-bench-fill' });
    let fillMs: number;
    try {
      await filler.start();
      fillMs = await fill(filler, EVENTS);
    } finally {
      await filler.close();
    }
    await admin.query(`vacuum analyze ${SCHEMA}.journal, ${SCHEMA}.event_tags`);
    const results: BenchResult[] = [
      { name: `setup: ${EVENTS} events written (writeMessages, 2 000 per call, 4 in flight; STEADFAST_BENCH_QUERY_EVENTS)`, value: Math.round(fillMs / 100) / 10, unit: 's' },
    ];
    // STEADFAST_BENCH_VERBOSE=1 prints each part's figures as it ends (a long run that dies keeps them).
    const part = async (figures: Promise<BenchResult[]>) => {
      const done = await figures;
      if (process.env.STEADFAST_BENCH_VERBOSE === '1')
        for (const figure of done) console.log(`\n  ${figure.name}: ${figure.value} ${figure.unit}${figure.ratio === undefined ? '' : ` (ratio ${figure.ratio})`}`);
      results.push(...done);
    };
    await part(catchUp(url.href, admin, EVENTS));
    await part(burst(url.href, Math.ceil(EVENTS / PER_ID)));
    await part(projection(url.href, admin));
    await part(fanOut(url.href, admin));
    return results;
  } finally {
    await admin.end();
    await server.query(`drop database if exists ${database} with (force)`).catch(() => {});
    await server.end();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'query (read side, PostgreSQL)', needs: ['postgres'], run }];
