/**
 * LISTEN/NOTIFY for live queries: a write in one journal wakes the live queries of another journal on
 * the same schema (another process, as far as PostgreSQL can tell), also after the LISTEN connection was
 * killed; `notifyQueries: false` turns the notification off, and a wrong value is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal } from '../../../journal/postgres/index.js';
import { ReadJournal } from '../../../src/index.js';
import { postgresResource } from '../../support/services.js';
import { appName, pid, write } from './helpers.js';

const pgr = await postgresResource('pg_notify');
afterAll(() => pgr?.cleanup());

describe.runIf(pgr)('PostgreSQL notifications for live queries', () => {
  it('a write in one journal wakes a listener of another, also after its LISTEN connection was terminated', async () => {
    const listenApp = appName('listen');
    const writer = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: appName('notify-writer') });
    const reader = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: listenApp });
    try {
      await Promise.all([writer.start(), reader.start()]);
      let woken = 0;
      let wake: () => void = () => {};
      const unsubscribe = reader.queries().onEventsWritten(() => {
        woken++;
        wake();
      });
      const nextWake = () => new Promise<void>((resolve) => (wake = resolve));
      // Connected once its session shows up LISTENing.
      await expect
        .poll(async () => (await pgr!.admin.query(`select 1 from pg_stat_activity where application_name = $1`, [`${listenApp}-listen`])).rowCount, { timeout: 10_000 })
        .toBe(1);
      let woke = nextWake();
      await writer.writeMessages([write(pid('n'), 1)]);
      await woke;
      const before = woken;

      await pgr!.admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`, [`${listenApp}-listen`]);
      await expect
        .poll(async () => (await pgr!.admin.query(`select 1 from pg_stat_activity where application_name = $1 and state = 'idle'`, [`${listenApp}-listen`])).rowCount, {
          timeout: 15_000,
        })
        .toBe(1);
      woke = nextWake();
      await writer.writeMessages([write(pid('n2'), 1)]);
      await woke;
      expect(woken).toBeGreaterThan(before);
      unsubscribe();
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('a live query of another journal yields an event written with notifyQueries: false too (it polls), and a wrong value is refused', async () => {
    expect(() => postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, notifyQueries: 'yes' as unknown as boolean })).toThrow(
      /notifyQueries must be a boolean/,
    );
    const writer = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: appName('quiet-writer'), notifyQueries: false });
    const reader = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: appName('quiet-reader') });
    const id = pid('quiet');
    try {
      const iterator = new ReadJournal(reader.queries(), () => [null]).eventsByPersistenceId(id)[Symbol.asyncIterator]();
      const first = iterator.next();
      await writer.writeMessages([write(id, 1)]);
      expect((await first).value?.sequenceNr).toBe(1);
      await iterator.return?.();
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
