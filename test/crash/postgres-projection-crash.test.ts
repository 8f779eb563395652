/**
 * Crash test of `postgresProjection` (issue 17): processes running the projection are SIGKILLed while
 * this process keeps persisting tagged events. Two projector processes are alive at any time: one
 * holds the projection's lease and works, the other waits to take over; each kill hits the one that
 * works, right after it began a batch (so a kill lands anywhere between the batch's first statement
 * and its commit), and a new process is started in its place. At the end, with the writer stopped and
 * the projection caught up, the read model holds every tagged event exactly once (a row per event with
 * a primary key, and no `on conflict`: an event handled twice fails the projection, and the test) and
 * the running total equals the fold of the journal's events.
 *
 * CI: 20 kills. STEADFAST_SOAK=1: 100 kills, longer bursts between them.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal } from '../../journal/postgres/index.js';
import type { PersistentRepr } from '../../src/persistence/persistent-repr.js';
import { FixtureProcess } from '../delivery/amqp/child-process.js';
import { postgresResource } from '../support/services.js';
import { waitUntil } from '../support/eventually.js';
import type { ProjectorConfig } from './fixtures/postgres-projector.js';

const soak = process.env.STEADFAST_SOAK === '1';
const KILLS = soak ? 100 : 20;
/** Batches a projector begins before it is killed: random in [1, MAX_BATCHES_BEFORE_KILL]. */
const MAX_BATCHES_BEFORE_KILL = soak ? 40 : 8;
const STREAMS = 12;
/** Events per second the writer persists (all tagged `ledger`, in atomic writes of 1 to 3). */
const WRITE_RATE = 400;
const fixture = fileURLToPath(new URL('./fixtures/postgres-projector.ts', import.meta.url));

const pgr = await postgresResource('projection crash');
afterAll(() => pgr?.cleanup());

const BATCH = /^batch (\d+) (\d+) (\d+)$/;

describe.runIf(pgr)('postgresProjection under SIGKILL', () => {
  it(`updates the read model exactly once through ${KILLS} SIGKILLs of the projecting process`, { timeout: soak ? 1_800_000 : 180_000 }, async () => {
    const started = Date.now();
    const { connectionString, schema, admin } = pgr!;
    const journal = postgresJournal({ connectionString, schema, poolSize: 2, applicationName: `sf-crash-projection-writer-${process.pid}` });
    await journal.start();
    await admin.query(`create table "${schema}".ledger_rows (persistence_id text, sequence_nr bigint, amount bigint not null, primary key (persistence_id, sequence_nr))`);
    await admin.query(`create table "${schema}".ledger_total (total bigint not null, events bigint not null)`);
    await admin.query(`insert into "${schema}".ledger_total values (0, 0)`);

    // The writer: persists tagged events at WRITE_RATE until told to stop, every stream continuing its sequence.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      const next = Array.from({ length: STREAMS }, () => 1);
      const t0 = Date.now();
      while (writing) {
        const stream = written % STREAMS;
        const count = 1 + (written % 3);
        const persistenceId = `account-${stream}`;
        const events: PersistentRepr[] = [];
        for (let i = 0; i < count; i++) {
          const sequenceNr = next[stream]!++;
          events.push({
            persistenceId,
            sequenceNr,
            writerUuid: 'crash-writer',
            timestamp: Date.now(),
            tags: ['ledger'],
            serializerId: 'json',
            manifest: 'Deposited',
            payload: JSON.stringify({ amount: 1 + Math.floor(Math.random() * 1000) }),
          });
        }
        const [outcome] = await journal.writeMessages([{ persistenceId, events }]);
        if (outcome!.status !== 'ok') throw new Error(`write to ${persistenceId} failed: ${outcome!.status}`);
        written += count;
        // Paced, not a wait for anything: the writer only has to keep events coming during the kills.
        const ahead = t0 + (written / WRITE_RATE) * 1000 - Date.now();
        if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
      }
    })();

    const config: ProjectorConfig = { connectionString, schema, name: 'ledger-model', batchSize: 50 };
    const alive = new Set<FixtureProcess>();
    const failures: string[] = [];
    // How often a batch began at each first offset: one begun twice was rolled back by a kill and done again.
    const begun = new Map<string, number>();
    const batches = new Map<FixtureProcess, number>();
    const spawn = (index: number) => {
      const child: FixtureProcess = new FixtureProcess(fixture, config, `projector ${index}`, (line) => {
        const match = BATCH.exec(line);
        if (match) {
          batches.set(child, (batches.get(child) ?? 0) + 1);
          begun.set(match[1]!, (begun.get(match[1]!) ?? 0) + 1);
        } else if (line.startsWith('failed')) failures.push(`${child.label}: ${line}`);
      });
      alive.add(child);
      return child;
    };
    let spawned = 0;
    spawn(spawned++);
    spawn(spawned++);

    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const target = 1 + Math.floor(Math.random() * MAX_BATCHES_BEFORE_KILL);
        const counted = new Map([...alive].map((child) => [child, batches.get(child) ?? 0]));
        // The working process is the one that begins batches; the other waits for the lease.
        const victim = await Promise.any(
          [...alive].map((child) => child.waitFor(BATCH, 60_000, () => (batches.get(child) ?? 0) - counted.get(child)! >= target).then(() => child)),
        ).catch((error: AggregateError) => {
          throw new Error(`no projector began ${target} more batches: ${failures.join('; ') || error.errors.map(String).join('; ')}`);
        });
        await victim.kill();
        const exit = await victim.exited;
        expect(exit.signal, `${victim.label} ended on its own`).toBe('SIGKILL');
        alive.delete(victim);
        spawn(spawned++);
        expect(failures).toEqual([]);
      }
      writing = false;
      await writer;

      const expected = await admin.query<{ events: string; total: string; highest: string }>(
        `select count(*) as events, coalesce(sum((payload_json->>'amount')::int8), 0) as total, coalesce(max(ordering), 0) as highest
         from "${schema}".journal where 'ledger' = any(tags)`,
      );
      const { events, total, highest } = expected.rows[0]!;
      expect(Number(events)).toBe(written);
      await waitUntil(
        'the projection caught up with the journal',
        async () => {
          const stored = await admin.query<{ offset_value: string }>(`select offset_value from "${schema}".projection_offsets where projection = $1`, [config.name]);
          return stored.rows[0]?.offset_value === highest;
        },
        60_000,
      );
      expect(failures).toEqual([]);

      // Every event once: the same (persistenceId, sequenceNr, amount) triples on both sides, none missing, none extra.
      const difference = await admin.query<{ side: string; persistence_id: string; sequence_nr: string }>(
        `with events as (
           select persistence_id, sequence_nr, (payload_json->>'amount')::int8 as amount from "${schema}".journal where 'ledger' = any(tags)
         )
         (select 'missing' as side, * from (select * from events except all select persistence_id, sequence_nr, amount from "${schema}".ledger_rows) m)
         union all
         (select 'extra' as side, * from (select persistence_id, sequence_nr, amount from "${schema}".ledger_rows except all select * from events) e)
         limit 10`,
      );
      expect(difference.rows).toEqual([]);
      const model = await admin.query<{ total: string; events: string }>(`select total, events from "${schema}".ledger_total`);
      expect(model.rows).toEqual([{ total, events }]);

      const redone = [...begun.values()].filter((times) => times > 1).length;
      console.info(
        `[crash] ${KILLS} SIGKILLs of the projecting process, ${written} events written meanwhile, ${begun.size} batches, ${redone} of them begun again after a kill; read model exact (total ${total}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      writing = false;
      await writer.catch(() => {});
      await Promise.all([...alive].map((child) => child.stop()));
      await journal.close();
    }
  });
});
