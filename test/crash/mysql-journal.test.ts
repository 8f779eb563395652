/**
 * The storage crash test on MySQL/MariaDB: a child writing through mysqlJournal is SIGKILLed at random
 * moments; every acknowledged event must be stored, streams are 1..n without holes or duplicates, and
 * the global ordering stays gapless (a killed transaction gives its orderings back with its rollback).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { mysqlResource } from '../support/services.js';
import { killAtRandom, startWriter } from './fixtures/writer-run.js';

const db = await mysqlResource('mysql_crash');
afterAll(() => db?.cleanup());

const soak = process.env.STEADFAST_SOAK === '1';
const KILLS = soak ? 200 : 8;
const WRITERS = 16;
const FIXTURE = 'test/crash/fixtures/mysql-writer.ts';
const ER_NO_SUCH_TABLE = 1146;

async function stored(): Promise<Map<string, number[]>> {
  const [rows] = await db!.admin
    .query<RowDataPacket[]>('select persistence_id, sequence_nr from journal order by persistence_id, sequence_nr')
    .catch((error: { errno?: number }) => {
      if (error.errno === ER_NO_SUCH_TABLE) return [[] as RowDataPacket[]]; // killed before the first migration
      throw error;
    });
  const streams = new Map<string, number[]>();
  for (const row of rows) {
    const id = String(row.persistence_id);
    streams.set(id, [...(streams.get(id) ?? []), Number(row.sequence_nr)]);
  }
  return streams;
}

describe.runIf(db)('mysqlJournal survives SIGKILL of its process', () => {
  it(`keeps every acknowledged event, with no holes in streams or ordering, across ${KILLS} kills`, { timeout: soak ? 1_800_000 : 180_000 }, async () => {
    const highestAcked = new Map<string, number>();
    let totalAcks = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const run = startWriter(FIXTURE, [db!.connectionString, String(WRITERS)]);
      await killAtRandom(run, 1500);
      expect(run.failures).toEqual([]);
      totalAcks += run.ackCount;
      for (const [id, nr] of run.acked) highestAcked.set(id, Math.max(nr, highestAcked.get(id) ?? 0));
      const streams = await stored();
      for (const [id, acked] of highestAcked) {
        const seqs = streams.get(id) ?? [];
        expect(seqs.length, `${id}: acknowledged up to ${acked}, stored ${seqs.length}`).toBeGreaterThanOrEqual(acked);
        expect(seqs[seqs.length - 1]).toBe(seqs.length);
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    }
    const [[counts]] = (await db!.admin.query<RowDataPacket[]>(
      `select (select count(*) from journal) as events, (select coalesce(max(ordering), 0) from journal) as highest,
              (select last_ordering from journal_sequence) as floor,
              (select count(*) from journal where tags is not null) as tagged, (select count(*) from event_tags) as tag_rows`,
    )) as unknown as [[Record<string, unknown>]];
    expect(Number(counts.highest)).toBe(Number(counts.events));
    // Raised by deletions only (none here): the orderings come from the lock holder's max + 1.
    expect(Number(counts.floor)).toBe(0);
    expect(Number(counts.tag_rows)).toBe(Number(counts.tagged));
    expect(totalAcks).toBeGreaterThan(0);
    console.info(`[crash] ${KILLS} SIGKILLs, ${totalAcks} acknowledged writes, all present, no holes`);
  });
});
