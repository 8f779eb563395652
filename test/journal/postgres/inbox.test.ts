import { afterAll, describe, expect, it } from 'vitest';
import { postgresInbox } from '../../../journal/postgres/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('inbox');
afterAll(() => pg?.cleanup());

describe.runIf(pg)('postgresInbox', () => {
  async function setup() {
    const inbox = postgresInbox({ connectionString: pg!.connectionString, schema: pg!.schema, poolSize: 12 });
    await inbox.migrate();
    await inbox.pool.query(`create table if not exists "${pg!.schema}".ledger (sender_id text, delivery_id bigint, amount int)`);
    await inbox.pool.query(`truncate "${pg!.schema}".ledger, "${pg!.schema}".inbox`);
    return inbox;
  }

  it('applies concurrent duplicates once, in the same transaction as the record', async () => {
    const inbox = await setup();
    try {
      const credit = (deliveryId: number) =>
        inbox.process('sender-a', deliveryId, async (client) => {
          await client.query(`insert into "${pg!.schema}".ledger values ($1, $2, 10)`, ['sender-a', deliveryId]);
        });
      const outcomes = await Promise.all([...Array(10)].map(() => credit(7)).concat([credit(8)]));
      expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(2);
      expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(9);
      const { rows } = await inbox.pool.query(`select delivery_id::int as id, count(*)::int as n from "${pg!.schema}".ledger group by 1 order by 1`);
      expect(rows).toEqual([
        { id: 7, n: 1 },
        { id: 8, n: 1 },
      ]);
    } finally {
      await inbox.close();
    }
  });

  it('records nothing when the effect fails, so the redelivery applies it', async () => {
    const inbox = await setup();
    try {
      await expect(
        inbox.process('sender-b', 1, async (client) => {
          await client.query(`insert into "${pg!.schema}".ledger values ('sender-b', 1, 5)`);
          throw new Error('downstream refused');
        }),
      ).rejects.toThrow('downstream refused');
      const before = await inbox.pool.query(`select count(*)::int as n from "${pg!.schema}".ledger where sender_id = 'sender-b'`);
      expect(before.rows[0].n).toBe(0);
      const retried = await inbox.process('sender-b', 1, async (client) => {
        await client.query(`insert into "${pg!.schema}".ledger values ('sender-b', 1, 5)`);
      });
      expect(retried).toBe('applied');
    } finally {
      await inbox.close();
    }
  });

  it('cleans up old entries in batches and keeps recent ones', async () => {
    const inbox = await setup();
    try {
      await inbox.pool.query(`insert into "${pg!.schema}".inbox (sender_id, delivery_id, received_at) select 'old', g, now() - interval '2 days' from generate_series(1, 2500) g`);
      await inbox.process('recent', 1, async () => {});
      expect(await inbox.cleanup({ olderThanMs: 24 * 3600_000, batchSize: 1000 })).toBe(2500);
      const { rows } = await inbox.pool.query(`select sender_id from "${pg!.schema}".inbox`);
      expect(rows).toEqual([{ sender_id: 'recent' }]);
    } finally {
      await inbox.close();
    }
  });

  it('refuses bad input with a clear error', async () => {
    expect(() => postgresInbox({ connectionString: pg!.connectionString, schema: pg!.schema, table: 'x; drop' })).toThrow(/table must be a PostgreSQL identifier/);
    const inbox = await setup();
    try {
      await expect(inbox.process('s', 0, async () => {})).rejects.toThrow(/deliveryId must be a positive integer/);
    } finally {
      await inbox.close();
    }
  });
});
