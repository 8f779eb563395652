import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresResource } from '../support/services.js';

const pgr = await postgresResource('pg_crash');
afterAll(() => pgr?.cleanup());

const soak = process.env.STEADFAST_SOAK === '1';
const KILLS = soak ? 200 : 24;
const WRITERS = 16;
const FIXTURE = 'test/crash/fixtures/postgres-writer.ts';

interface Run {
  readonly child: ChildProcess;
  /** Highest acknowledged sequence number per persistenceId, in this run. */
  readonly acked: Map<string, number>;
  readonly failures: string[];
  ackCount: number;
  /** Whether the child printed this line (ack lines count as 'ack'). */
  seen(line: string): boolean;
  /** Resolves once the predicate over what the child printed holds (or the child exited). */
  when(predicate: () => boolean): Promise<void>;
  readonly exited: Promise<void>;
}

function start(connectionString: string, schema: string): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, connectionString, schema, String(WRITERS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const run: Run = {
    child,
    acked: new Map(),
    failures: [],
    ackCount: 0,
    seen: (line) => lines.includes(line),
    when(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    exited: new Promise((resolve) => child.on('exit', () => resolve())),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('ack ')) lines.push(line);
    const [kind, id, nr] = line.split(' ');
    if (kind === 'ack') {
      const seq = Number(nr);
      if (seq > (run.acked.get(id!) ?? 0)) run.acked.set(id!, seq);
      run.ackCount++;
    } else if (kind === 'failed') {
      run.failures.push(line);
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.predicate()) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  void run.exited.then(() => {
    for (const waiter of waiters.splice(0)) waiter.resolve();
    if (child.exitCode !== null && child.exitCode !== 0) run.failures.push(`exit ${child.exitCode}: ${stderr}`);
  });
  return run;
}

describe.runIf(pgr)('postgresJournal survives SIGKILL of its process', () => {
  it(`keeps every acknowledged event and leaves no holes across ${KILLS} kills`, { timeout: soak ? 1_800_000 : 300_000 }, async () => {
    const schema = pgr!.schema;
    const highestAcked = new Map<string, number>();
    let totalAcks = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const run = start(pgr!.connectionString, schema);
      // Random moments: mostly somewhere in the write stream, sometimes while it starts (first run:
      // in the middle of the migrations).
      const roll = Math.random();
      if (roll < 0.1) {
        await run.when(() => run.seen('starting'));
      } else if (roll < 0.2) {
        await run.when(() => run.seen('ready'));
      } else {
        const target = 1 + Math.floor(Math.random() * 3000);
        await run.when(() => run.ackCount >= target);
      }
      run.child.kill('SIGKILL');
      await run.exited;
      expect(run.failures).toEqual([]);
      totalAcks += run.ackCount;
      for (const [id, nr] of run.acked) highestAcked.set(id, Math.max(nr, highestAcked.get(id) ?? 0));

      const rows = await pgr!.admin
        .query<{ persistence_id: string; seqs: string[] }>(
          `select persistence_id, array_agg(sequence_nr order by sequence_nr)::text[] as seqs from "${schema}".journal group by persistence_id`,
        )
        .catch((error: { code?: string }) => {
          if (error.code === '42P01') return { rows: [] }; // killed before the first migration committed
          throw error;
        });
      const stored = new Map(rows.rows.map((row) => [row.persistence_id, row.seqs.map(Number)]));
      for (const [id, acked] of highestAcked) {
        const seqs = stored.get(id) ?? [];
        expect(seqs.length, `${id}: acknowledged up to ${acked}, stored ${seqs.length}`).toBeGreaterThanOrEqual(acked);
        // Stored exactly 1..n: nothing lost in the middle, nothing written twice.
        expect(seqs[seqs.length - 1]).toBe(seqs.length);
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    }
    expect(totalAcks).toBeGreaterThan(0);
    console.info(`[crash] ${KILLS} SIGKILLs, ${totalAcks} acknowledged writes, all present, no holes`);
  });
});
