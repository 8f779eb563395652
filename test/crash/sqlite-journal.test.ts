/**
 * Crash test of the SQLite journal: a child process writes as fast as it can and is killed with
 * SIGKILL at random moments; after every kill the database must hold every write the child saw
 * acknowledged, each stream without holes, and replay must work. STEADFAST_SOAK=1 kills 100 times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { sqliteJournal } from '../../journal/sqlite/index.js';
import type { PersistentRepr } from '../../src/persistence/persistent-repr.js';
import { Child } from '../journal/sqlite/child-process.js';

const soak = process.env.STEADFAST_SOAK === '1';
const KILLS = soak ? 100 : 20;
const STREAMS = 40;
/** Acknowledgements to wait for before a kill: random in [1, MAX_ACKS_BEFORE_KILL]. */
const MAX_ACKS_BEFORE_KILL = soak ? 3000 : 1200;

const dir = mkdtempSync(join(tmpdir(), 'steadfast-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACK = /^ack (\S+) (\d+) end$/;

it(`keeps every acknowledged event through ${KILLS} SIGKILLs`, { timeout: soak ? 900_000 : 300_000 }, async () => {
  const path = join(dir, 'crash.db');
  const acknowledged = new Map<string, number>();
  let totalAcks = 0;

  for (let kill = 0; kill < KILLS; kill++) {
    const child = new Child('test/crash/fixtures/sqlite-crash-writer.ts', [path, String(STREAMS)]);
    await child.waitForLine((line) => line === 'ready');
    // Kill at a random point of the write stream: after a random number of acknowledgements,
    // so the moment falls at any step of a commit, not at a fixed time.
    const acksBeforeKill = 1 + Math.floor(Math.random() * MAX_ACKS_BEFORE_KILL);
    let acks = 0;
    await child.waitForLine((line) => ACK.test(line) && ++acks >= acksBeforeKill);
    child.process.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal, `child ended on its own: ${child.stderr}`).toBe('SIGKILL');

    for (const line of child.lines) {
      const match = ACK.exec(line);
      if (!match) continue;
      totalAcks++;
      const [, persistenceId, highest] = match;
      acknowledged.set(persistenceId!, Math.max(acknowledged.get(persistenceId!) ?? 0, Number(highest)));
    }
    await verify(path, acknowledged);
  }
  console.log(`${KILLS} kills, ${totalAcks} acknowledged writes, ${[...acknowledged.values()].reduce((a, b) => a + b, 0)} acknowledged events checked`);
  expect(totalAcks).toBeGreaterThanOrEqual(KILLS);
});

async function verify(path: string, acknowledged: ReadonlyMap<string, number>): Promise<void> {
  const raw = new Database(path);
  try {
    expect(raw.pragma('quick_check', { simple: true })).toBe('ok');
  } finally {
    raw.close();
  }
  const journal = sqliteJournal({ path });
  await journal.start();
  try {
    for (let i = 0; i < STREAMS; i++) {
      const persistenceId = `stream-${i}`;
      const highest = await journal.readHighestSequenceNr(persistenceId, 0);
      const acked = acknowledged.get(persistenceId) ?? 0;
      expect(highest, `${persistenceId}: acknowledged up to ${acked}, stored up to ${highest}`).toBeGreaterThanOrEqual(acked);
      let expected = 1;
      let bad: string | undefined;
      await journal.replayMessages(persistenceId, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event: PersistentRepr) => {
        if (bad !== undefined) return;
        if (event.sequenceNr !== expected) bad = `hole: expected ${expected}, got ${event.sequenceNr}`;
        else if (JSON.parse(event.payload as string).sequenceNr !== expected) bad = `payload of ${expected} belongs elsewhere`;
        expected++;
      });
      expect(bad, persistenceId).toBeUndefined();
      expect(expected - 1, `${persistenceId}: replay ends before the highest sequence number`).toBe(highest);
    }
  } finally {
    await journal.close();
  }
}
