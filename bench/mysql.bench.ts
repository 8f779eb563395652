/**
 * MySQL/MariaDB journal benchmarks (`npm run bench -- mysql`), each against raw `mysql2` measured in
 * the same run, in alternating rounds (after one unmeasured round of each), median of three, every
 * round's ratio reported. A database of its own, dropped at the end. Needs MYSQL_URL (a server URL; the
 * path is replaced) or MariaDB/MySQL on 127.0.0.1:3306 as root without a password.
 *
 * Sizes: STEADFAST_BENCH_MYSQL_EVENTS_PER_WRITER (default 30, x 1000 writers per round),
 * STEADFAST_BENCH_MYSQL_SEQUENTIAL (default 2000 writes per round: with 300, a round lasted ~0.1 s on a
 * fast disk and the JIT's warm-up cost the journal ~0.15 of its ratio, bench/README.md 2026-12-02).
 * Each figure lists node's CPU per event of every round next to the rates (process.cpuUsage: the
 * whole process, so the raw batched rounds include building their rows).
 */
import { randomBytes } from 'node:crypto';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { mysqlJournal, type MysqlJournal } from '../journal/mysql/index.js';
import type { PersistentRepr } from '../src/persistence/persistent-repr.js';
import { elapsedMsSince, median, perSecond, type Benchmark, type BenchResult } from './harness.js';
import { event } from './postgres.bench.js';

const SERVER = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const WRITERS = 1000;
const EVENTS_PER_WRITER = Number(process.env.STEADFAST_BENCH_MYSQL_EVENTS_PER_WRITER ?? 30);
const RAW_BATCH = 1000;
const SEQUENTIAL_WRITES = Number(process.env.STEADFAST_BENCH_MYSQL_SEQUENTIAL ?? 2000);
const REPLAY_EVENTS = 100_000;
const PAGE = 5000;
const ROUNDS = 3;

const COLUMNS = 'ordering, persistence_id, sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes, tags';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Orderings for the raw table, drawn in JS: the raw baseline pays for no counter row. */
let rawOrdering = 0;

function rawRow(e: PersistentRepr): unknown[] {
  return [++rawOrdering, e.persistenceId, e.sequenceNr, e.writerUuid, e.timestamp, e.serializerId, e.manifest, e.payload, null, null];
}

/** The ceiling: the same rows as multi-row INSERTs of RAW_BATCH rows each (autocommit), one at a time. */
async function rawBatched(pool: Pool, rows: readonly PersistentRepr[]): Promise<number> {
  const connection = await pool.getConnection();
  try {
    const started = process.hrtime.bigint();
    for (let offset = 0; offset < rows.length; offset += RAW_BATCH) {
      const batch = rows.slice(offset, offset + RAW_BATCH);
      const values: unknown[] = [];
      for (const e of batch) values.push(...rawRow(e));
      await connection.query(`insert into raw_events (${COLUMNS}) values ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(',')}`, values);
    }
    return perSecond(rows.length, elapsedMsSince(started));
  } finally {
    connection.release();
  }
}

function writerRows(prefix: string, writers: number, perWriter: number): PersistentRepr[] {
  const rows: PersistentRepr[] = [];
  for (let nr = 1; nr <= perWriter; nr++) for (let w = 0; w < writers; w++) rows.push(event(`${prefix}-${w}`, nr));
  return rows;
}

/** 1000 emulated persistent actors, each persisting one event at a time. */
async function concurrentWriters(journal: MysqlJournal, prefix: string, writers: number, perWriter: number): Promise<number> {
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

async function sequentialJournal(journal: MysqlJournal, id: string, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let nr = 1; nr <= count; nr++) {
    const [outcome] = await journal.writeMessages([{ persistenceId: id, events: [event(id, nr)] }]);
    if (outcome!.status !== 'ok') throw new Error(`sequential write ${nr}: ${outcome!.status}`);
  }
  return perSecond(count, elapsedMsSince(started));
}

/** One autocommit single-row INSERT per event on one connection. */
async function sequentialRaw(pool: Pool, id: string, count: number): Promise<number> {
  const connection = await pool.getConnection();
  try {
    const started = process.hrtime.bigint();
    for (let nr = 1; nr <= count; nr++) {
      await connection.query(`insert into raw_events (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rawRow(event(id, nr)));
    }
    return perSecond(count, elapsedMsSince(started));
  } finally {
    connection.release();
  }
}

async function replayRate(journal: MysqlJournal, id: string): Promise<number> {
  let count = 0;
  const started = process.hrtime.bigint();
  await journal.replayMessages(id, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => {
    count++;
  });
  const ms = elapsedMsSince(started);
  if (count !== REPLAY_EVENTS) throw new Error(`replayed ${count} of ${REPLAY_EVENTS}`);
  return perSecond(count, ms);
}

/** The replay ceiling: the same keyset pages with plain mysql2, rows as arrays, nothing built per row. */
async function rawReplayRate(pool: Pool, id: string): Promise<number> {
  const connection = await pool.getConnection();
  try {
    let count = 0;
    let next = 1;
    const started = process.hrtime.bigint();
    for (;;) {
      const [rows] = await connection.query<RowDataPacket[]>({
        sql: `select sequence_nr, writer_uuid, timestamp_ms, serializer_id, manifest, payload_json, payload_bytes, tags
              from journal where persistence_id = ? and sequence_nr >= ? and sequence_nr <= ? order by sequence_nr limit ?`,
        values: [id, next, Number.MAX_SAFE_INTEGER, PAGE],
        rowsAsArray: true,
      });
      count += rows.length;
      if (rows.length < PAGE) break;
      next = Number((rows[rows.length - 1] as unknown as unknown[])[0]) + 1;
    }
    const ms = elapsedMsSince(started);
    if (count !== REPLAY_EVENTS) throw new Error(`raw replay read ${count} of ${REPLAY_EVENTS}`);
    return perSecond(count, ms);
  } finally {
    connection.release();
  }
}

interface Rounds {
  readonly journal: number[];
  readonly raw: number[];
  /** node CPU per event (µs) of each round. */
  readonly journalCpu: number[];
  readonly rawCpu: number[];
}

async function withCpu(events: number, work: () => Promise<number>): Promise<[rate: number, cpuUs: number]> {
  const before = process.cpuUsage();
  const rate = await work();
  const used = process.cpuUsage(before);
  return [rate, Math.round(((used.user + used.system) / events) * 100) / 100];
}

/** One unmeasured round of each, then ROUNDS alternating rounds (raw first); `events` per measured round. */
async function alternate(events: number, raw: (round: number) => Promise<number>, journal: (round: number) => Promise<number>): Promise<Rounds> {
  await raw(-1);
  await journal(-1);
  const result: Rounds = { journal: [], raw: [], journalCpu: [], rawCpu: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const [rawRate, rawCpu] = await withCpu(events, () => raw(round));
    result.raw.push(rawRate);
    result.rawCpu.push(rawCpu);
    const [journalRate, journalCpu] = await withCpu(events, () => journal(round));
    result.journal.push(journalRate);
    result.journalCpu.push(journalCpu);
  }
  return result;
}

const ratio = (value: number, base: number): number => Math.round((value / base) * 100) / 100;

function figure(name: string, rounds: Rounds, target: number): BenchResult {
  const ratios = rounds.journal.map((rate, i) => ratio(rate, rounds.raw[i]!));
  const value = median(rounds.journal);
  const baseline = median(rounds.raw);
  return {
    name:
      `${name} (rounds journal/raw: ${rounds.journal.map((rate, i) => `${rate}/${rounds.raw[i]}`).join(', ')}; ratios ${ratios.join(', ')}; ` +
      `node CPU µs/event journal/raw: ${rounds.journalCpu.map((cpu, i) => `${cpu}/${rounds.rawCpu[i]}`).join(', ')})`,
    value,
    unit: 'events/s',
    baseline,
    ratio: median(ratios),
    target: `>= ${target} ratio`,
    meetsTarget: median(ratios) >= target,
  };
}

async function run(): Promise<readonly BenchResult[]> {
  const database = `sf_bench_mysql_${process.pid}_${randomBytes(3).toString('hex')}`;
  const server = await mysql.createConnection({ uri: withDatabase(SERVER, '') });
  await server.query(`create database \`${database}\``);
  const url = withDatabase(SERVER, database);
  const admin = mysql.createPool({ uri: url, connectionLimit: 2, supportBigNumbers: true });
  const journal = mysqlJournal({ connectionString: url, poolSize: 4 });
  try {
    await journal.start();
    await admin.query('create table raw_events like journal');

    const concurrent = await alternate(
      WRITERS * EVENTS_PER_WRITER,
      (round) => rawBatched(admin, writerRows(`raw-${round}`, WRITERS, round < 0 ? 5 : EVENTS_PER_WRITER)),
      (round) => concurrentWriters(journal, `actor-${round}`, WRITERS, round < 0 ? 5 : EVENTS_PER_WRITER),
    );
    const sequential = await alternate(
      SEQUENTIAL_WRITES,
      (round) => sequentialRaw(admin, `raw-single-${round}`, round < 0 ? 300 : SEQUENTIAL_WRITES),
      (round) => sequentialJournal(journal, `seq-${round}`, round < 0 ? 300 : SEQUENTIAL_WRITES),
    );

    for (let from = 1; from <= REPLAY_EVENTS; from += PAGE) {
      const events: PersistentRepr[] = [];
      for (let nr = from; nr < from + PAGE; nr++) events.push(event('replay', nr));
      await journal.writeMessages([{ persistenceId: 'replay', events }]);
    }
    const replay = await alternate(
      REPLAY_EVENTS,
      () => rawReplayRate(admin, 'replay'),
      () => replayRate(journal, 'replay'),
    );

    return [
      figure(`mysqlJournal: ${WRITERS} concurrent writers x ${EVENTS_PER_WRITER}, one event at a time; raw: batched INSERT, ${RAW_BATCH} rows/statement`, concurrent, 0.6),
      figure(`mysqlJournal: single writer, ${SEQUENTIAL_WRITES} sequential writes; raw: single-row autocommit INSERT`, sequential, 0.8),
      figure(`mysqlJournal: replay ${REPLAY_EVENTS} events of one persistenceId (~110 B JSON); raw: same ${PAGE}-row pages with plain mysql2`, replay, 0.8),
    ];
  } finally {
    await journal.close();
    await admin.end().catch(() => {});
    await server.query(`drop database if exists \`${database}\``).catch(() => {});
    await server.end().catch(() => {});
  }
}

export const benchmarks: Benchmark[] = [{ name: 'mysql journal', needs: ['mysql'], run }];
