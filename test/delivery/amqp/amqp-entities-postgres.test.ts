/**
 * amqpEntities against the real broker and PostgreSQL: several "processes" in this test process, each
 * an ActorSystem with its own PostgreSQL journal on one shared schema (so each has its own lease
 * session, exactly as separate processes would). Killing processes is the crash test's business
 * (test/crash/amqp-postgres-entities-crash.test.ts); here a process leaves by stop().
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ActorSystem, inMemoryJournal } from '../../../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { amqpEntities, DeliveryApplied, InboundDelivery, partitionOf, type AmqpEntities, type AmqpEntitiesOptions } from '../../../delivery/amqp/index.js';
import { amqpResource, postgresResource } from '../../support/services.js';
import { AccountEntity, type AccountState } from './account-entity.js';

const pg = await postgresResource('amqp-entities');
const amqp = await amqpResource('amqp-entities');
const silent = pino({ level: 'silent' });
const systems: ActorSystem[] = [];
const regions: AmqpEntities[] = [];

afterAll(async () => {
  for (const region of regions) await region.stop().catch(() => {});
  for (const system of systems) await system.terminate().catch(() => {});
  await amqp?.cleanup();
  await pg?.cleanup();
});

/** A type name whose queues the resource removes afterwards. */
function typeName(label: string, partitions: number): string {
  for (let p = 0; p < partitions; p++) {
    amqp!.name(`${label}.entities.${p}`);
    amqp!.name(`${label}.entities.${p}.dead-letter`);
  }
  amqp!.name(`${label}.entities.partitions`);
  return `${amqp!.prefix}${label}`;
}

interface Member {
  readonly system: ActorSystem;
  readonly region: AmqpEntities;
  /** Ids whose entity this process created (it owned their partition at that moment). */
  readonly created: Set<string>;
}

async function member(name: string, options: Omit<AmqpEntitiesOptions, 'system' | 'url' | 'entity'>, serving = true): Promise<Member> {
  // Small pools: a dozen systems live in this file at once, on a server other suites share.
  const journalOptions = { connectionString: pg!.connectionString, schema: pg!.schema, applicationName: `${pg!.schema}-${name}`, poolSize: 2 };
  const system = ActorSystem.create(name, { journal: postgresJournal(journalOptions), snapshotStore: postgresSnapshotStore(journalOptions), logger: silent });
  systems.push(system);
  const created = new Set<string>();
  const region = amqpEntities({
    system,
    url: amqp!.url,
    logger: silent,
    rebalanceIntervalMs: 100,
    ...options,
    ...(serving
      ? {
          entity: (id: string) => {
            created.add(id);
            return new AccountEntity(id);
          },
        }
      : {}),
  });
  regions.push(region);
  await region.start();
  return { system, region, created };
}

/** Resolves once the shares of `members` (in order) are `expected`; waits on ownership changes, not on time. */
function shares(members: readonly Member[], expected: readonly number[], timeoutMs = 20_000): Promise<void> {
  const now = () => members.map((m) => m.region.stats.ownership?.partitions.length ?? 0);
  const settled = () => now().every((count, i) => count === expected[i]);
  if (settled()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const unsubscribe = members.map((m) => m.region.onOwnershipChange(check));
    const timer = setTimeout(() => {
      for (const u of unsubscribe) u();
      reject(new Error(`shares are ${JSON.stringify(now())}, expected ${JSON.stringify(expected)}`));
    }, timeoutMs);
    function check(): void {
      if (!settled()) return;
      clearTimeout(timer);
      for (const u of unsubscribe) u();
      resolve();
    }
  });
}

function owners(members: readonly Member[]): Map<number, number> {
  const byPartition = new Map<number, number>();
  members.forEach((m, index) => {
    for (const p of m.region.stats.ownership?.partitions ?? []) byPartition.set(p, index);
  });
  return byPartition;
}

describe.runIf(pg && amqp)('amqpEntities', () => {
  it('routes to the owner; rebalances within ±1 as a second and a third process join and when one leaves; nothing lost or applied twice', async () => {
    const type = typeName('rebalance', 8);
    const options = { typeName: type, partitions: 8 };
    const a = await member('a', options);
    await shares([a], [8]);
    const sender = await member('sender', options, false);
    const sent = new Map<string, number[]>();
    let n = 0;
    const tellAll = async (count: number) => {
      const tells: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const id = `e${i % 24}`;
        n++;
        sent.set(id, [...(sent.get(id) ?? []), n]);
        tells.push(sender.region.tell(id, { n, amount: 1 }));
      }
      await Promise.all(tells);
    };

    await tellAll(100);
    const b = await member('b', options);
    await tellAll(100);
    await shares([a, b], [4, 4]);
    const c = await member('c', options);
    await tellAll(100);
    await shares([a, b, c], [3, 3, 2]);

    // Fresh ids are created by the process that owns their partition, and by no other.
    const byPartition = owners([a, b, c]);
    expect(byPartition.size).toBe(8);
    const fresh = Array.from({ length: 30 }, (_, i) => `fresh-${i}`);
    const answers = await Promise.all(fresh.map((id) => sender.region.ask<AccountState>(id, { n: 0, amount: 5 })));
    expect(answers.map((s) => s.balance)).toEqual(fresh.map(() => 5));
    const members = [a, b, c];
    for (const id of fresh) {
      const owner = byPartition.get(partitionOf(id, 8))!;
      expect(members.map((m) => m.created.has(id))).toEqual(members.map((_, i) => i === owner));
    }

    await b.region.stop();
    await tellAll(100);
    await shares([a, c], [4, 4]);

    // Every entity holds exactly what was sent to it, each once. (Not necessarily in the order sent: a
    // publish retried after a slow confirm on a loaded broker may land behind later ones.)
    const ascending = (values: readonly number[]) => [...values].sort((x, y) => x - y);
    for (const [id, ns] of sent) {
      const state = await sender.region.ask<AccountState>(id, { n: -1, amount: 0 });
      expect(ascending(state.applied.filter((x) => x !== -1))).toEqual(ascending(ns));
      expect(state.balance).toBe(ns.length);
    }
  }, 90_000);

  it('a member whose lease session is ended stops serving at once, the other takes over, and it comes back; nothing lost or applied twice', async () => {
    const type = typeName('lost', 4);
    const options = { typeName: type, partitions: 4 };
    const a = await member('lost-a', options);
    const b = await member('lost-b', options);
    await shares([a, b], [2, 2]);
    const sender = await member('lost-sender', options, false);
    const ids = Array.from({ length: 12 }, (_, i) => `l${i}`);
    await Promise.all(ids.map((id) => sender.region.tell(id, { n: 1, amount: 1 })));
    // a is seen serving nothing once its leases are lost (it takes a slot again right after, so that
    // state may be short: it is caught as it happens, not looked for afterwards).
    let emptied!: () => void;
    const aEmptied = new Promise<void>((resolve) => (emptied = resolve));
    const unsubscribe = a.region.onOwnershipChange((state) => {
      if (state.partitions.length === 0) emptied();
    });
    // What an operator's pg_terminate_backend, a database restart or a broken network does to a's leases.
    const ended = await pg!.admin.query(
      `select pg_terminate_backend(l.pid) from pg_locks l join pg_stat_activity s on s.pid = l.pid
        where l.locktype = 'advisory' and s.application_name = $1`,
      [`${pg!.schema}-lost-a-leases`],
    );
    expect(ended.rowCount).toBeGreaterThan(0);
    await aEmptied;
    unsubscribe();
    await Promise.all(ids.map((id) => sender.region.tell(id, { n: 2, amount: 1 })));
    // a takes a slot and its share again on a new session.
    await shares([a, b], [2, 2]);
    for (const id of ids) {
      const state = await sender.region.ask<AccountState>(id, { n: 3, amount: 1 });
      expect(state).toEqual({ balance: 3, applied: [1, 2, 3] });
    }
  }, 60_000);

  it("a stale owner's write is refused by the journal's sequence-number check: the entity stops, the message is not acked, and is applied once after recovery", async () => {
    const type = typeName('stale', 2);
    const owner = await member('stale-owner', { typeName: type, partitions: 2, replyTimeoutMs: 2000 });
    const sender = await member('stale-sender', { typeName: type, partitions: 2 }, false);
    expect(await sender.region.ask<AccountState>('x', { n: 1, amount: 1 })).toEqual({ balance: 1, applied: [1] });
    // Another writer of the same stream behind the owner's back (what a second owner would be): its
    // event takes the sequence number the owner's live entity will try next.
    const journalOptions = { connectionString: pg!.connectionString, schema: pg!.schema, poolSize: 2 };
    const intruderSystem = ActorSystem.create('intruder', { journal: postgresJournal(journalOptions), snapshotStore: postgresSnapshotStore(journalOptions), logger: silent });
    systems.push(intruderSystem);
    const intruder = intruderSystem.actorOf(() => new AccountEntity('x'));
    const applied = await intruderSystem.ask(intruder, new InboundDelivery('intruder:1', 'intruder', 1, { n: 100, amount: 1 }, 'steadfast.json', 'x', 1, 1));
    expect(applied).toEqual(new DeliveryApplied('intruder:1', false));
    await intruderSystem.stop(intruder);
    // The owner's entity persists at the taken number: refused, it stops, no DeliveryApplied, no ack;
    // the consumer's next attempt gets a fresh incarnation that recovers the intruder's event first.
    expect(await sender.region.ask<AccountState>('x', { n: 2, amount: 1 })).toEqual({ balance: 3, applied: [1, 100, 2] });
    const rows = await pg!.admin.query<{ writer_uuid: string }>(`select writer_uuid from "${pg!.schema}".journal where persistence_id = 'account-x' order by sequence_nr`);
    const writers = rows.rows.map((row) => row.writer_uuid);
    expect(writers).toHaveLength(3);
    expect(new Set(writers).size).toBe(3); // owner, intruder, the owner's next incarnation: runs that never interleave
    expect(owner.created.has('x')).toBe(true);
  });

  it('ask round trip from a send-only process: the answer is the state after the command was applied', async () => {
    const type = typeName('ask', 4);
    await member('owner', { typeName: type, partitions: 4 });
    const sender = await member('asker', { typeName: type, partitions: 4 }, false);
    expect(sender.region.serving).toBe(false);
    expect(sender.region.stats.ownership).toBeUndefined();
    const first = await sender.region.ask<AccountState>('acct-1', { n: 1, amount: 10 });
    const second = await sender.region.ask<AccountState>('acct-1', { n: 2, amount: 5 });
    expect(first).toEqual({ balance: 10, applied: [1] });
    expect(second).toEqual({ balance: 15, applied: [1, 2] });
  });

  it('refuses to start with another partition count than the broker records (ERR_AMQP_PARTITION_COUNT)', async () => {
    const type = typeName('count', 4);
    await member('first', { typeName: type, partitions: 4 }, false);
    const second = member('second', { typeName: type, partitions: 6 }, false);
    await expect(second).rejects.toMatchObject({ code: 'ERR_AMQP_PARTITION_COUNT', partitions: 6, recorded: 4 });
  });

  it('a serving process needs a journal with leases (ERR_LEASES_UNSUPPORTED); a send-only one does not', async () => {
    const system = ActorSystem.create('no-leases', { journal: inMemoryJournal(), logger: silent });
    systems.push(system);
    expect(() => amqpEntities({ system, url: amqp!.url, typeName: 'x', entity: (id) => new AccountEntity(id) })).toThrow(
      expect.objectContaining({ code: 'ERR_LEASES_UNSUPPORTED' }) as Error,
    );
    const sendOnly = amqpEntities({ system, url: amqp!.url, typeName: typeName('sendonly', 2), partitions: 2, logger: silent });
    regions.push(sendOnly);
    await sendOnly.start();
    await expect(sendOnly.tell('e1', { n: 1, amount: 1 })).resolves.toBeUndefined();
  });
});
