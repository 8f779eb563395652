/**
 * The server ends the plugin's sessions under write load (KILL, as an operator or a failover would):
 * calls in flight fail with an error classified `unreachable` (or succeed), nothing acknowledged is
 * lost, and the journal goes on without a restart on new connections.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { mysqlJournal } from '../../../journal/mysql/index.js';
import { mysqlResource } from '../../support/services.js';
import { pid, write } from './helpers.js';

const db = await mysqlResource('mysql_conn_loss');
afterAll(() => db?.cleanup());

/** Kills every session on the test's database except the admin pool's own. */
async function killSessions(): Promise<number> {
  const [rows] = await db!.admin.query<RowDataPacket[]>('select id from information_schema.processlist where db = ? and id <> connection_id()', [db!.database]);
  for (const row of rows) await db!.admin.query(`kill ${Number(row.id)}`).catch(() => {});
  return rows.length;
}

describe.runIf(db)('MySQL journal: lost connections', () => {
  it('fails in-flight calls as unreachable, keeps every acknowledged event, and writes again on new connections', async () => {
    const journal = mysqlJournal({ connectionString: db!.connectionString });
    try {
      await journal.start();
      const ids = Array.from({ length: 8 }, (_, i) => pid(`loss-${i}`));
      const acked = new Map<string, number>();
      const errors: unknown[] = [];
      let stop = false;
      const writers = ids.map(async (id) => {
        let nr = 1;
        while (!stop) {
          try {
            const [outcome] = await journal.writeMessages([write(id, nr)]);
            if (outcome!.status !== 'ok') throw new Error(`unexpected ${outcome!.status}`);
            acked.set(id, nr);
            nr++;
          } catch (error) {
            errors.push(error);
            // As a restarted actor does: continue after what is stored (a failed COMMIT may have stored it).
            nr = (await journal.readHighestSequenceNr(id, 0).catch(() => nr - 1)) + 1;
          }
        }
      });
      await expect.poll(() => acked.size, { timeout: 10_000 }).toBe(ids.length);
      expect(await killSessions()).toBeGreaterThan(0);
      const before = new Map(acked);
      await expect.poll(() => ids.every((id) => (acked.get(id) ?? 0) > (before.get(id) ?? 0) + 5), { timeout: 20_000 }).toBe(true);
      stop = true;
      await Promise.all(writers);
      // Usually some calls were in flight when their session went (a kill between flushes fails none).
      for (const error of errors) expect(journal.classifyError(error)).toBe('unreachable');
      for (const id of ids) {
        let seen = 0;
        await journal.replayMessages(id, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event) => {
          expect(event.sequenceNr).toBe(++seen);
        });
        expect(seen).toBeGreaterThanOrEqual(acked.get(id)!);
      }
      await journal.ping();
    } finally {
      await journal.close();
    }
  });
});
