import { afterAll, describe, expect, it } from 'vitest';
import { postgresResource } from '../support/services.js';
import { killAtRandom, startWriter } from './fixtures/writer-run.js';

const pgr = await postgresResource('pg_crash');
afterAll(() => pgr?.cleanup());

const soak = process.env.STEADFAST_SOAK === '1';
const KILLS = soak ? 200 : 24;
const WRITERS = 16;
const FIXTURE = 'test/crash/fixtures/postgres-writer.ts';

describe.runIf(pgr)('postgresJournal survives SIGKILL of its process', () => {
  it(`keeps every acknowledged event and leaves no holes across ${KILLS} kills`, { timeout: soak ? 1_800_000 : 300_000 }, async () => {
    const schema = pgr!.schema;
    const highestAcked = new Map<string, number>();
    let totalAcks = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const run = startWriter(FIXTURE, [pgr!.connectionString, schema, String(WRITERS)]);
      await killAtRandom(run);
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
