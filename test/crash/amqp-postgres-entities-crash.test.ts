/**
 * amqpEntities under SIGKILL: 3 serving processes and 1 sending process (test/crash/fixtures/
 * entities-server.ts) on one PostgreSQL journal and one broker; 1 000 entities; a serving process is
 * SIGKILLed every few seconds and restarted at once. At the end, read back from the journal:
 * - every entity holds exactly the commands sent to it (none lost, none applied twice);
 * - per persistenceId, the writer ids form runs that never interleave (no two owners wrote at once);
 * - with all three up, shares are balanced within ±1 partition.
 * It prints the failover time (kill -> first message applied in a moved partition), p50 and p99.
 *
 * 20 000 commands in both variants. A kill waits for all three servers to be ready and then KILL_EVERY_MS;
 * the sender's pace is re-planned after every kill (a `rate` line on its stdin) so that the stream
 * outlasts the kills by about half a cycle, and the test checks that the last kill came while commands
 * were still being applied. CI: 10 kills, 2 s of serving before each (52-61 s here, 2026-12-04).
 * STEADFAST_SOAK=1: 50 kills, 3 s before each (219 s).
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { FixtureProcess } from '../delivery/amqp/child-process.js';
import { amqpResource, postgresResource } from '../support/services.js';
import { waitUntil } from '../support/eventually.js';
import type { EntitiesFixtureConfig } from './fixtures/entities-server.js';

const soak = process.env.STEADFAST_SOAK === '1';
const TOTAL = 20_000;
const KILLS = soak ? 50 : 10;
const KILL_EVERY_MS = soak ? 3000 : 2000;
const ENTITIES = 1000;
const PARTITIONS = 32;
const SERVERS = 3;
const pg = await postgresResource('amqp entities crash');
const amqp = await amqpResource('amqp entities crash');

// The fixture bundled into one file once: a restarted server is up in about a second instead of the
// several that tsx needs to transpile the library file by file on this busy machine, so kills every
// few seconds leave the others serving instead of everyone booting. Packages stay external and are
// found through a node_modules link next to the bundle.
const bundleDir = mkdtempSync(join(tmpdir(), 'steadfast-entities-crash-'));
symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(bundleDir, 'node_modules'));
const fixture = join(bundleDir, 'entities-server.mjs');
await build({
  entryPoints: [fileURLToPath(new URL('./fixtures/entities-server.ts', import.meta.url))],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: fixture,
  logLevel: 'warning',
});

afterAll(async () => {
  rmSync(bundleDir, { recursive: true, force: true });
  await amqp?.cleanup();
  await pg?.cleanup();
});

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function ownedBy(process: FixtureProcess): number[] {
  const line = process.last(/^own (.*)$/);
  return line?.[1] ? line[1].split(',').map(Number) : [];
}

describe.runIf(pg && amqp)('amqpEntities under SIGKILL', () => {
  it(`applies ${TOTAL} commands to ${ENTITIES} entities exactly once through ${KILLS} kills of serving processes`, { timeout: soak ? 1_800_000 : 180_000 }, async () => {
    const testStarted = Date.now();
    const typeName = `${amqp!.prefix}crash`;
    for (let p = 0; p < PARTITIONS; p++) {
      amqp!.name(`crash.entities.${p}`);
      amqp!.name(`crash.entities.${p}.dead-letter`);
    }
    amqp!.name('crash.entities.partitions');
    const base = { url: amqp!.url, connectionString: pg!.connectionString, schema: pg!.schema, typeName, partitions: PARTITIONS, rebalanceIntervalMs: 250 };
    const serverConfig: EntitiesFixtureConfig = { ...base, serve: true };
    const everyone: FixtureProcess[] = [];
    let generation = 0;
    /** Spawn to `ready` of each server, in ms (the first three booted side by side). */
    const boots: number[] = [];
    const spawnServer = (slot: number) => {
      const server = new FixtureProcess(fixture, serverConfig, `server ${slot} #${++generation}`);
      everyone.push(server);
      const spawned = Date.now();
      void server.waitFor(/^ready$/, 120_000).then(
        () => boots.push(Date.now() - spawned),
        () => {},
      );
      return server;
    };
    const servers = Array.from({ length: SERVERS }, (_, slot) => spawnServer(slot));
    let sender: FixtureProcess | undefined;
    try {
      await Promise.all(servers.map((server) => server.waitFor(/^ready$/, 60_000)));
      const balanced = () => {
        const counts = servers.map((server) => ownedBy(server).length);
        return counts.reduce((a, b) => a + b, 0) === PARTITIONS && Math.max(...counts) - Math.min(...counts) <= 1;
      };
      await waitUntil('the three servers share the partitions within ±1', balanced, 30_000);

      // The stream is paced to outlast the kills by half a kill cycle: planned here from the first
      // boots, then re-planned after every kill from the cycles so far (a restart under the stream's
      // load can take several times as long as one on an idle machine).
      const plannedCycleMs = KILL_EVERY_MS + Math.max(...boots);
      const ratePerSecond = Math.ceil(TOTAL / (((KILLS + 0.5) * plannedCycleMs) / 1000));
      sender = new FixtureProcess(fixture, { ...base, serve: false, total: TOTAL, entities: ENTITIES, ratePerSecond, window: 64 } satisfies EntitiesFixtureConfig, 'sender');
      await sender.waitFor(/^ready$/, 60_000);
      const streamStarted = Date.now();
      const rates = [ratePerSecond];

      const countApplied = async () =>
        Number((await pg!.admin.query<{ n: string }>(`select count(*) as n from "${pg!.schema}".journal where persistence_id like 'account-%'`)).rows[0]!.n);
      const kills: { at: number; partitions: number[]; applied: number }[] = [];
      for (let k = 0; k < KILLS; k++) {
        // Every server up again (the one restarted last included), then a few seconds of serving:
        // a kill then always leaves two servers to take over, and the failover measured is theirs,
        // not the time a process needs to boot on a busy machine.
        await Promise.all(servers.map((server) => server.waitFor(/^ready$/, 60_000)));
        await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
        const slot = Math.floor(Math.random() * SERVERS);
        const victim = servers[slot]!;
        const partitions = ownedBy(victim);
        const applied = await countApplied();
        const at = Date.now();
        await victim.kill();
        kills.push({ at, partitions, applied });
        servers[slot] = spawnServer(slot);
        const killsLeft = KILLS - k - 1;
        if (killsLeft > 0) {
          // Never below the plan: the first cycle has no boot to wait for, and a burst would load the boots.
          const cycleMs = Math.max(plannedCycleMs, (Date.now() - streamStarted) / (k + 1));
          const unsent = TOTAL - Number(sender.last(/^progress (\d+)$/)?.[1] ?? 0);
          const rate = Math.max(10, Math.ceil(unsent / (((killsLeft + 0.5) * cycleMs) / 1000)));
          sender.writeLine(`rate ${rate}`);
          rates.push(rate);
        }
      }

      const done = await sender.waitFor(/^done (\d+)$/, soak ? 600_000 : 120_000);
      expect(sender.lines.filter((line) => line.startsWith('failed'))).toEqual([]);
      expect(Number(done[1])).toBe(TOTAL);
      await Promise.all(servers.map((server) => server.waitFor(/^ready$/, 60_000)));
      await waitUntil('the three servers share the partitions within ±1 again', balanced, 30_000);

      await waitUntil(`all ${TOTAL} commands applied`, async () => (await countApplied()) >= TOTAL, soak ? 300_000 : 60_000, 200);
      await Promise.all(servers.map((server) => server.stop()));

      const rows = await pg!.admin.query<{ persistence_id: string; writer_uuid: string; payload_json: { events: { n: number }[] } }>(
        `select persistence_id, writer_uuid, payload_json from "${pg!.schema}".journal where persistence_id like 'account-%' order by persistence_id, sequence_nr`,
      );
      const applied = new Map<string, number[]>();
      const writers = new Map<string, string[]>();
      for (const row of rows.rows) {
        for (const event of row.payload_json.events) applied.set(row.persistence_id, [...(applied.get(row.persistence_id) ?? []), event.n]);
        const runs = writers.get(row.persistence_id) ?? [];
        if (runs.at(-1) !== row.writer_uuid) runs.push(row.writer_uuid);
        writers.set(row.persistence_id, runs);
      }
      let lost = 0;
      let twice = 0;
      for (let k = 0; k < ENTITIES; k++) {
        const expected = new Set<number>();
        for (let n = k === 0 ? ENTITIES : k; n <= TOTAL; n += ENTITIES) expected.add(n);
        const got = applied.get(`account-acct-${k}`) ?? [];
        twice += got.length - new Set(got).size;
        lost += [...expected].filter((n) => !got.includes(n)).length;
        expect(new Set(got)).toEqual(expected);
      }
      const interleaved = [...writers.values()].filter((runs) => new Set(runs).size !== runs.length).length;

      const failovers: number[] = [];
      for (const kill of kills) {
        for (const partition of kill.partitions) {
          let first: number | undefined;
          for (const server of everyone) {
            for (const line of server.lines) {
              const match = /^first (\d+) (\d+)$/.exec(line);
              if (!match || Number(match[1]) !== partition || Number(match[2]) < kill.at) continue;
              first = Math.min(first ?? Number.POSITIVE_INFINITY, Number(match[2]));
            }
          }
          if (first !== undefined) failovers.push(first - kill.at);
        }
      }
      failovers.sort((a, b) => a - b);
      const p50 = percentile(failovers, 0.5);
      const p99 = percentile(failovers, 0.99);
      console.log(
        `amqpEntities crash: ${TOTAL} commands, ${ENTITIES} entities, ${KILLS} kills: lost ${lost}, applied twice ${twice}, interleaved writers ${interleaved}; ` +
          `failover (kill -> first message handled in a moved partition) over ${failovers.length} partitions: p50 ${p50} ms, p99 ${p99} ms, max ${failovers.at(-1)} ms; ` +
          `commands applied at each kill (s since the first): ${kills.map((kill) => `${kill.applied} (${((kill.at - kills[0]!.at) / 1000).toFixed(1)})`).join(', ')}; sender's rates ${rates.join(', ')}/s; boots ${boots.join(', ')} ms; ${Math.round((Date.now() - testStarted) / 1000)} s`,
      );
      // Every kill came while commands were still being applied (the stream outlasts the kills).
      expect(kills.at(-1)!.applied).toBeLessThan(TOTAL);
      expect(lost).toBe(0);
      expect(twice).toBe(0);
      expect(interleaved).toBe(0);
      expect(failovers.length).toBeGreaterThan(KILLS);
      expect(p99).toBeLessThan(60_000); // the goal is 5 s (README); this bound only catches a failover that hangs
    } finally {
      await sender?.kill();
      await Promise.all(everyone.map((server) => server.kill()));
    }
  });
});
