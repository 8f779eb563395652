/**
 * The service's journal timing (journal-timing.ts) on the PostgreSQL journal: a write batch and both
 * ways of replaying — `replayMessages` and `replayForRecovery`, which recoveries use on PostgreSQL —
 * are each reported once, with what the plugin answered passed through unchanged.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal } from '../../journal/postgres/index.js';
import { timedJournal } from '../../service/journal-timing.js';
import { postgresResource } from '../support/services.js';
import { appName, pid, write } from '../journal/postgres/helpers.js';

const pgr = await postgresResource('pg_journal_timing');
afterAll(() => pgr?.cleanup());

describe.runIf(pgr)('timedJournal (PostgreSQL)', () => {
  it('times writes, replays and recovery replays, passing every answer through', async () => {
    const plugin = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: appName('timing') });
    const written: number[] = [];
    const replayed: number[] = [];
    const journal = timedJournal(plugin, { written: (seconds) => written.push(seconds), replayed: (seconds) => replayed.push(seconds) });
    try {
      await journal.start!();
      const id = pid('timed');
      expect(await journal.writeMessages([write(id, 1, 3)])).toEqual([{ status: 'ok' }]);
      expect(written).toHaveLength(1);
      expect(written[0]).toBeGreaterThan(0);

      const seen: number[] = [];
      await journal.replayMessages(id, 1, 3, 10, (event) => void seen.push(event.sequenceNr));
      expect(seen).toEqual([1, 2, 3]);
      expect(replayed).toHaveLength(1);

      expect(journal.replayForRecovery).toBeTypeOf('function');
      const highest = await journal.replayForRecovery!(id, 2, 3, 10, (event) => void seen.push(event.sequenceNr));
      expect(highest).toBe(3);
      expect(seen).toEqual([1, 2, 3, 2, 3]);
      expect(replayed).toHaveLength(2);
      // Everything else goes straight to the plugin.
      expect(await journal.readHighestSequenceNr(id, 0)).toBe(3);
      expect(written).toHaveLength(1);
    } finally {
      await journal.close();
    }
  });
});
