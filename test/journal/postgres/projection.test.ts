/**
 * postgresProjection against the real PostgreSQL: the read model and the offset commit together, so a
 * handler that fails after writing rows leaves none of them and the retried batch applies once; a
 * restarted projection resumes after its offset; a second system on the same schema waits for the
 * projection's lease and takes over when the first stops; a journal that is not PostgreSQL is refused.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal, postgresProjection, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { ActorSystem, inMemoryJournal, inMemorySnapshotStore } from '../../../src/index.js';
import { postgresResource } from '../../support/services.js';
import { byLedgerTag, deposit, LedgerAccount } from '../support/ledger.js';
import { appName } from './helpers.js';

const pgr = await postgresResource('pg_projection');
afterAll(() => pgr?.cleanup());
const silent = pino({ level: 'silent' });

describe.runIf(pgr)('postgresProjection', () => {
  const systems: ActorSystem[] = [];
  afterAll(async () => {
    await Promise.all(systems.map((system) => system.terminate()));
  });

  function system(label: string, schema: string): ActorSystem {
    const options = { connectionString: pgr!.connectionString, schema, applicationName: appName(label) };
    const created = ActorSystem.create(label, { journal: postgresJournal(options), snapshotStore: postgresSnapshotStore(options), logger: silent });
    systems.push(created);
    return created;
  }

  const byTag = byLedgerTag;

  it('commits the read model with the offset: a batch that fails after writing rows leaves none, and applies once when retried', async () => {
    const schema = await pgr!.newSchema('proj_once');
    await pgr!.admin.query(`create table "${schema}".ledger_rows (persistence_id text, sequence_nr bigint, amount int, primary key (persistence_id, sequence_nr))`);
    const writer = system('proj-once', schema);
    const account = writer.actorOf(() => new LedgerAccount('acc-1'));
    await deposit(account, ...Array.from({ length: 20 }, (_, i) => i + 1));
    let failures = 1;
    const projection = postgresProjection(writer, {
      name: 'ledger',
      query: byTag,
      batchSize: 7,
      retry: { minBackoffMs: 5 },
      handleBatch: async (envelopes, client) => {
        for (const envelope of envelopes) {
          await client.query(`insert into "${schema}".ledger_rows values ($1, $2, $3)`, [
            envelope.persistenceId,
            envelope.sequenceNr,
            (envelope.event as { amount: number }).amount,
          ]);
        }
        // The rows above are written, then the batch fails: the transaction must take them back.
        if (envelopes.some((envelope) => envelope.sequenceNr === 10) && failures-- > 0) throw new Error('the read model is briefly unavailable');
      },
    });
    const total = async () => Number((await pgr!.admin.query(`select coalesce(sum(amount), 0) as total, count(*) as rows from "${schema}".ledger_rows`)).rows[0].total);
    await expect.poll(total, { timeout: 15_000 }).toBe(210);
    expect(failures).toBe(-1);
    const stored = await pgr!.admin.query(`select offset_value from "${schema}".projection_offsets where projection = 'ledger'`);
    expect(Number(stored.rows[0].offset_value)).toBe(projection.offset);

    // Restarted: resumes after the offset, so the earlier rows are not written again (the primary key would refuse them).
    await projection.stop();
    await deposit(account, 100);
    const again = postgresProjection(writer, {
      name: 'ledger',
      query: byTag,
      handler: async (envelope, client) => {
        await client.query(`insert into "${schema}".ledger_rows values ($1, $2, $3)`, [envelope.persistenceId, envelope.sequenceNr, (envelope.event as { amount: number }).amount]);
      },
    });
    await expect.poll(total, { timeout: 15_000 }).toBe(310);
    await again.stop();
    expect(again.state).toBe('stopped');
  });

  it('begins the next batch with the commit of the one before when it is already read, each batch its own transaction, none left open once caught up or stopped', async () => {
    const schema = await pgr!.newSchema('proj_chain');
    const writer = system('proj-chain', schema);
    const account = writer.actorOf(() => new LedgerAccount('acc-3'));
    await deposit(account, ...Array.from({ length: 30 }, (_, i) => i + 1));
    const transactions: string[] = [];
    const batches: number[] = [];
    const projection = postgresProjection(writer, {
      name: 'chained',
      query: byTag,
      batchSize: 4,
      handleBatch: async (envelopes, client) => {
        batches.push(envelopes.length);
        transactions.push((await client.query<{ id: string }>('select txid_current()::text as id')).rows[0]!.id);
      },
    });
    const openTransactions = async () =>
      Number(
        (await pgr!.admin.query(`select count(*) as n from pg_stat_activity where application_name = $1 and state like 'idle in transaction%'`, [appName('proj-chain')])).rows[0].n,
      );
    await expect.poll(() => batches.reduce((a, b) => a + b, 0), { timeout: 15_000 }).toBe(30);
    expect(new Set(transactions).size).toBe(transactions.length);
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    // Caught up, the query waits live: the last batch committed without beginning another.
    await expect.poll(() => projection.offset, { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(openTransactions, { timeout: 5_000 }).toBe(0);
    await deposit(account, 31, 32, 33, 34, 35);
    await expect.poll(() => batches.reduce((a, b) => a + b, 0), { timeout: 15_000 }).toBe(35);
    await projection.stop();
    expect(await openTransactions()).toBe(0);
    const stored = await pgr!.admin.query(`select offset_value from "${schema}".projection_offsets where projection = 'chained'`);
    expect(Number(stored.rows[0].offset_value)).toBe(projection.offset);
  });

  it('runs in one process at a time: a second system on the same schema waits for the lease and takes over', async () => {
    const schema = await pgr!.newSchema('proj_lease');
    const first = system('proj-lease-1', schema);
    const second = system('proj-lease-2', schema);
    const account = first.actorOf(() => new LedgerAccount('acc-2'));
    await deposit(account, 1, 2, 3);
    const seen: string[] = [];
    const handlerOf = (who: string) => async () => {
      seen.push(who);
    };
    const one = postgresProjection(first, { name: 'shared', query: byTag, handler: handlerOf('first') });
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(3);
    const two = postgresProjection(second, { name: 'shared', query: byTag, handler: handlerOf('second') });
    await expect.poll(() => two.state, { timeout: 15_000 }).toBe('waiting');
    await deposit(account, 4);
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(4);
    expect(seen).toEqual(['first', 'first', 'first', 'first']);
    await one.stop();
    await deposit(account, 5);
    await expect.poll(() => seen.at(-1), { timeout: 15_000 }).toBe('second');
    expect(seen).toHaveLength(5);
    await two.stop();
  });

  it('refuses a system whose journal is not PostgreSQL', () => {
    const other = ActorSystem.create('proj-memory', { journal: inMemoryJournal({ logger: silent }), snapshotStore: inMemorySnapshotStore(), logger: silent });
    systems.push(other);
    expect(() => postgresProjection(other, { name: 'x', query: byTag, handler: async () => {} })).toThrow(/needs the system's journal to be a postgresJournal/);
  });
});
