/**
 * Entities across processes (issue 18): the same stream of commands through `amqpEntities` served by
 * 1, 2 and 3 processes (test/crash/fixtures/entities-server.ts, bundled once with esbuild), sent from
 * this process (send-only). Reported per run: messages/s from the first send to the last command in
 * the journal, and the serving processes' CPU per message (user + system, /proc/<pid>/stat, summed over
 * the servers) — on a 2-core machine more processes cannot add cores, so CPU per message says what
 * spreading costs. STEADFAST_BENCH_XP_MESSAGES scales it (default 5 000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import pino from 'pino';
import { ActorSystem, inMemoryJournal } from '../src/index.js';
import { amqpEntities } from '../delivery/amqp/index.js';
import { FixtureProcess } from '../test/delivery/amqp/child-process.js';
import type { EntitiesFixtureConfig } from '../test/crash/fixtures/entities-server.js';
import { perSecond, type BenchResult } from './harness.js';

const MESSAGES = Number(process.env.STEADFAST_BENCH_XP_MESSAGES ?? 5000);
const ENTITIES = 1000;
const PARTITIONS = 32;
const WINDOW = 256;
const CONNECTION = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const TICK_MS = 10; // USER_HZ is 100 on Linux

function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
  } catch {
    return 0;
  }
}

async function bundleFixture(): Promise<{ path: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-xp-'));
  symlinkSync(fileURLToPath(new URL('../node_modules', import.meta.url)), join(dir, 'node_modules'));
  const path = join(dir, 'entities-server.mjs');
  const entry = fileURLToPath(new URL('../test/crash/fixtures/entities-server.ts', import.meta.url));
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: path, logLevel: 'warning' });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function oneRun(fixture: string, servers: number): Promise<{ rate: number; cpuPerMessage: number }> {
  const schema = `sf_bench_xp_${process.pid}_${randomBytes(3).toString('hex')}`;
  const typeName = `sf-bench-xp-${process.pid}-${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: CONNECTION });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  const config: EntitiesFixtureConfig = { url: AMQP_URL, connectionString: CONNECTION, schema, typeName, partitions: PARTITIONS, serve: true };
  const children = Array.from({ length: servers }, (_, i) => new FixtureProcess(fixture, config, `server ${i}`));
  const system = ActorSystem.create('bench-xp-sender', { journal: inMemoryJournal(), logger: pino({ level: 'silent' }) });
  const sender = amqpEntities({ system, url: AMQP_URL, typeName, partitions: PARTITIONS, logger: pino({ level: 'silent' }) });
  try {
    await Promise.all(children.map((child) => child.waitFor(/^ready$/, 60_000)));
    // Shares settled (sum P, within ±1) before measuring: a rebalance would be measured otherwise.
    for (const deadline = Date.now() + 30_000; ; ) {
      const counts = children.map(
        (child) =>
          child
            .last(/^own (.*)$/)?.[1]
            ?.split(',')
            .filter(Boolean).length ?? 0,
      );
      if (counts.reduce((a, b) => a + b, 0) === PARTITIONS && Math.max(...counts) - Math.min(...counts) <= 1) break;
      if (Date.now() > deadline) throw new Error(`shares did not settle: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sender.start();
    const cpuBefore = children.reduce((sum, child) => sum + cpuMs(child.process.pid), 0);
    const started = process.hrtime.bigint();
    let next = 1;
    const lane = async () => {
      while (next <= MESSAGES) {
        const n = next++;
        await sender.tell(`acct-${n % ENTITIES}`, { n, amount: 1 });
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, lane));
    for (;;) {
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n from "${schema}".journal where persistence_id like 'account-%'`);
      if (Number(rows[0]!.n) >= MESSAGES) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpu = children.reduce((sum, child) => sum + cpuMs(child.process.pid), 0) - cpuBefore;
    return { rate: perSecond(MESSAGES, elapsedMs), cpuPerMessage: cpu / MESSAGES };
  } finally {
    await sender.stop().catch(() => {});
    await system.terminate();
    await Promise.all(children.map((child) => child.stop()));
    await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await admin.end();
    await deleteQueues(typeName);
  }
}

async function deleteQueues(typeName: string): Promise<void> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  for (let p = 0; p < PARTITIONS; p++) {
    await channel.deleteQueue(`${typeName}.entities.${p}`);
    await channel.deleteQueue(`${typeName}.entities.${p}.dead-letter`);
  }
  await channel.deleteQueue(`${typeName}.entities.partitions`);
  await connection.close();
}

export async function acrossProcesses(): Promise<readonly BenchResult[]> {
  const fixture = await bundleFixture();
  try {
    const results: BenchResult[] = [];
    for (const servers of [1, 2, 3]) {
      const { rate, cpuPerMessage } = await oneRun(fixture.path, servers);
      results.push(
        {
          name: `entities across processes, ${servers} serving: ${MESSAGES} tells to ${ENTITIES} entities (window ${WINDOW}), first send to last in the journal`,
          value: rate,
          unit: 'messages/s',
        },
        { name: `entities across processes, ${servers} serving: CPU of the serving processes per message`, value: Math.round(cpuPerMessage * 1000) / 1000, unit: 'ms' },
      );
    }
    return results;
  } finally {
    fixture.cleanup();
  }
}
