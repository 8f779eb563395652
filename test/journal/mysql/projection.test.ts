/**
 * mysqlProjection against the real server: the read model and the offset commit together, so a
 * handler that fails after writing rows leaves none of them and the retried batch applies once; a
 * second system on the same database waits for the projection's lease (GET_LOCK) and takes over.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { mysqlJournal, mysqlProjection, mysqlSnapshotStore } from '../../../journal/mysql/index.js';
import { ActorSystem } from '../../../src/index.js';
import { mysqlResource } from '../../support/services.js';
import { byLedgerTag, deposit, LedgerAccount } from '../support/ledger.js';

const db = await mysqlResource('mysql_projection');
afterAll(() => db?.cleanup());
const silent = pino({ level: 'silent' });

describe.runIf(db)('mysqlProjection', () => {
  const systems: ActorSystem[] = [];
  afterAll(async () => {
    await Promise.all(systems.map((system) => system.terminate()));
  });

  function system(label: string): ActorSystem {
    const options = { connectionString: db!.connectionString };
    const created = ActorSystem.create(label, { journal: mysqlJournal(options), snapshotStore: mysqlSnapshotStore(options), logger: silent });
    systems.push(created);
    return created;
  }

  const byTag = byLedgerTag;

  it('commits the read model with the offset: a batch that fails after writing rows leaves none, and applies once when retried', async () => {
    await db!.admin.query('create table ledger_rows (persistence_id varchar(100), sequence_nr bigint, amount int, primary key (persistence_id, sequence_nr)) engine = InnoDB');
    const writer = system('proj-once');
    const account = writer.actorOf(() => new LedgerAccount('acc-1'));
    await deposit(account, ...Array.from({ length: 20 }, (_, i) => i + 1));
    let failures = 1;
    const projection = mysqlProjection(writer, {
      name: 'ledger',
      query: byTag,
      batchSize: 7,
      retry: { minBackoffMs: 5 },
      handleBatch: async (envelopes, connection) => {
        for (const envelope of envelopes) {
          await connection.query('insert into ledger_rows values (?, ?, ?)', [envelope.persistenceId, envelope.sequenceNr, (envelope.event as { amount: number }).amount]);
        }
        if (envelopes.some((envelope) => envelope.sequenceNr === 10) && failures-- > 0) throw new Error('the read model is briefly unavailable');
      },
    });
    const total = async () => Number((await db!.admin.query<RowDataPacket[]>('select coalesce(sum(amount), 0) as total from ledger_rows'))[0][0]!.total);
    await expect.poll(total, { timeout: 15_000 }).toBe(210);
    expect(failures).toBe(-1);
    const [stored] = await db!.admin.query<RowDataPacket[]>("select offset_value from projection_offsets where projection = 'ledger'");
    expect(Number(stored[0]!.offset_value)).toBe(projection.offset);
    await projection.stop();
  });

  it('runs in one process at a time: a second system waits for the lease and takes over', async () => {
    const first = system('proj-lease-1');
    const second = system('proj-lease-2');
    const account = first.actorOf(() => new LedgerAccount('acc-2'));
    await deposit(account, 1, 2, 3);
    const seen: string[] = [];
    // The first test's account is tagged alike, in the same database: only acc-2 counts here.
    const handlerOf = (who: string) => async (envelope: { persistenceId: string }) => {
      if (envelope.persistenceId === 'acc-2') seen.push(who);
    };
    const one = mysqlProjection(first, { name: 'shared', query: byTag, handler: handlerOf('first') });
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(3);
    const two = mysqlProjection(second, { name: 'shared', query: byTag, handler: handlerOf('second') });
    await expect.poll(() => two.state, { timeout: 15_000 }).toBe('waiting');
    await one.stop();
    await deposit(account, 4);
    await expect.poll(() => seen.at(-1), { timeout: 15_000 }).toBe('second');
    await two.stop();
  });
});
