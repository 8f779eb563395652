/**
 * PartitionOwnership (what amqpEntities uses to decide who serves which partition) on real PostgreSQL
 * leases, without RabbitMQ: each member's take/give only records. Run both ways a journal can offer:
 * with `heldLeases` (members counted in one pg_locks query) and without it (the fallback that tries
 * each slot, as on a journal offering only `acquireLease`).
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal, type PostgresJournal } from '../../../journal/postgres/index.js';
import { PartitionOwnership } from '../../../delivery/amqp/partition-ownership.js';
import { postgresResource } from '../../support/services.js';

const pgr = await postgresResource('partition_ownership');
const journals: PostgresJournal[] = [];
const silent = pino({ level: 'silent' });
/** Which member serves each partition right now, across members; a second server is recorded here. */
const servedBy = new Map<string, Member>();
const violations: string[] = [];

afterAll(async () => {
  for (const journal of journals) await journal.close().catch(() => {});
  await pgr?.cleanup();
});

interface Member {
  readonly ownership: PartitionOwnership;
  readonly serving: Set<number>;
}

function member(typeName: string, exact: boolean): Member {
  const journal = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, poolSize: 2 });
  journals.push(journal);
  const serving = new Set<number>();
  const ownership = new PartitionOwnership(
    {
      typeName,
      partitions: 32,
      maxMembers: 8,
      intervalMs: 50,
      logger: silent,
      acquireLease: (name) => journal.acquireLease(name),
      heldLeases: exact ? (names) => journal.heldLeases(names) : undefined,
    },
    {
      take: async (p) => {
        // Never two servers of one partition: what the leases are for.
        const key = `${typeName}/${p}`;
        if (servedBy.has(key)) violations.push(`${key} taken while served`);
        servedBy.set(key, self);
        serving.add(p);
      },
      give: async (p) => {
        servedBy.delete(`${typeName}/${p}`);
        serving.delete(p);
      },
    },
  );
  const self: Member = { ownership, serving };
  return self;
}

/** Resolves once the members' shares are `expected` (sorted) and no partition is served twice. */
function settled(members: readonly Member[], expected: readonly number[], timeoutMs = 20_000): Promise<void> {
  const check = () => {
    const shares = members.map((m) => m.ownership.state.partitions.length).sort((a, b) => b - a);
    const all = members.flatMap((m) => m.ownership.state.partitions);
    return JSON.stringify(shares) === JSON.stringify(expected) && new Set(all).size === all.length;
  };
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const unsubscribe = members.map((m) => m.ownership.onChange(() => check() && done()));
    const timer = setTimeout(() => {
      for (const u of unsubscribe) u();
      reject(new Error(`shares ${JSON.stringify(members.map((m) => m.ownership.state.partitions.length))}, expected ${JSON.stringify(expected)}`));
    }, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      for (const u of unsubscribe) u();
      resolve();
    }
  });
}

describe.runIf(pgr)('PartitionOwnership', () => {
  for (const exact of [true, false]) {
    it(`${exact ? 'with heldLeases' : 'without heldLeases (tries each slot)'}: 32 -> 16/16 -> 11/11/10 as members join, 16/16 when one stops; each partition served once`, async () => {
      const typeName = `ownership-${exact ? 'exact' : 'probing'}`;
      const a = member(typeName, exact);
      await a.ownership.start();
      await settled([a], [32]);
      const b = member(typeName, exact);
      await b.ownership.start();
      await settled([a, b], [16, 16]);
      const c = member(typeName, exact);
      await c.ownership.start();
      await settled([a, b, c], [11, 11, 10]);
      // What a member serves is exactly what it holds.
      for (const m of [a, b, c]) expect([...m.serving].sort((x, y) => x - y)).toEqual(m.ownership.state.partitions);
      await b.ownership.stop();
      expect(b.serving.size).toBe(0);
      await settled([a, c], [16, 16]);
      await Promise.all([a.ownership.stop(), c.ownership.stop()]);
      expect(violations).toEqual([]);
    }, 60_000);
  }
});
