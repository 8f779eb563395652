/**
 * The PostgreSQL journal's leases (session-level advisory locks on a connection of their own), against
 * a real server: exclusive while held, free after release, close or the holder's session ending, and
 * namespaced by schema.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal, type PostgresJournal } from '../../../journal/postgres/index.js';
import { AdvisoryLeases, leaseLockKey } from '../../../journal/postgres/advisory-leases.js';
import { resolveOptions } from '../../../journal/postgres/options.js';
import type { Lease } from '../../../src/persistence/journal.js';
import { postgresResource } from '../../support/services.js';
import { appName, write } from './helpers.js';

const pgr = await postgresResource('pg_leases');
const journals: PostgresJournal[] = [];
afterAll(async () => {
  for (const journal of journals) await journal.close().catch(() => {});
  await pgr?.cleanup();
});

function journal(schema = pgr!.schema, applicationName = appName('lease')): PostgresJournal {
  const created = postgresJournal({ connectionString: pgr!.connectionString, schema, applicationName, poolSize: 2 });
  journals.push(created);
  return created;
}

/** Backends of `applicationName` holding an advisory lock: the lease connection (named `<applicationName>-leases`), and only it. */
async function lockHolders(applicationName: string): Promise<number[]> {
  const result = await pgr!.admin.query<{ pid: number }>(
    `select distinct l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and a.application_name in ($1, $1 || '-leases')`,
    [applicationName],
  );
  return result.rows.map((row) => row.pid);
}

/** Tries every 100 ms, as a standby does, until it gets the lease (or the deadline passes). */
async function acquireEventually(from: PostgresJournal, name: string, timeoutMs = 15_000): Promise<Lease> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lease = await from.acquireLease(name);
    if (lease) return lease;
    if (Date.now() > deadline) throw new Error(`lease ${name} not acquired within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const notYet = (promise: Promise<unknown>, ms = 200): Promise<boolean> =>
  Promise.race([promise.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]);

describe.runIf(pgr)('postgresJournal leases', () => {
  it('is exclusive while held, across journals and within one; release() frees it', async () => {
    const a = journal();
    const b = journal();
    const lease = await a.acquireLease('outbox:outbox');
    expect(lease).toBeDefined();
    expect(lease!.held).toBe(true);
    expect(lease!.name).toBe('outbox:outbox');
    expect(await b.acquireLease('outbox:outbox')).toBeUndefined();
    // The same session would re-enter its own advisory lock; the plugin refuses that itself.
    expect(await a.acquireLease('outbox:outbox')).toBeUndefined();
    // Other names are independent.
    const other = await b.acquireLease('outbox:other');
    expect(other).toBeDefined();
    await lease!.release();
    expect(lease!.held).toBe(false);
    await lease!.release(); // idempotent
    const taken = await b.acquireLease('outbox:outbox');
    expect(taken).toBeDefined();
    expect(await a.acquireLease('outbox:outbox')).toBeUndefined();
    expect(await notYet(lease!.lost)).toBe(true); // a released lease is never "lost"
    await taken!.release();
    await other!.release();
  });

  it('holds the lock on a connection of its own, not on one of the pool, and writes go on beside it', async () => {
    const application = appName('own');
    const a = journal(pgr!.schema, application);
    await a.start();
    const lease = await a.acquireLease('own-connection');
    expect(lease).toBeDefined();
    const holders = await lockHolders(application);
    expect(holders).toHaveLength(1);
    // The pool's connections are other backends; a write through them does not touch the lease.
    const poolPid = (await a.pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    expect(holders).not.toContain(poolPid);
    expect(await a.writeMessages([write('lease-writer', 1)])).toEqual([{ status: 'ok' }]);
    expect(lease!.held).toBe(true);
    await lease!.release();
    expect(await lockHolders(application)).toEqual([]);
  });

  it("with a shared pool, uses that pool's settings for a client of its own and takes none of the pool's connections", async () => {
    const application = appName('shared');
    const pool = new pg.Pool({ connectionString: pgr!.connectionString, application_name: application, max: 2 });
    pool.on('error', () => {});
    const shared = postgresJournal({ pool, schema: pgr!.schema });
    journals.push(shared);
    try {
      const lease = (await shared.acquireLease('shared-pool'))!;
      expect(lease).toBeDefined();
      expect(pool.totalCount).toBe(0);
      expect(await lockHolders(application)).toHaveLength(1);
      await shared.close();
      expect(lease.held).toBe(false);
      // The server ends the session right after the client's goodbye: wait for it rather than race it.
      const deadline = Date.now() + 10_000;
      while ((await lockHolders(application)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await lockHolders(application)).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('is lost when its session is terminated: lost resolves, and a waiting acquirer gets it', async () => {
    const application = appName('term');
    const a = journal(pgr!.schema, application);
    const b = journal();
    const lease = (await a.acquireLease('terminated'))!;
    const second = (await a.acquireLease('terminated-too'))!;
    expect(await b.acquireLease('terminated')).toBeUndefined();
    const waiting = acquireEventually(b, 'terminated');
    const [holder] = await lockHolders(application);
    await pgr!.admin.query('select pg_terminate_backend($1)', [holder]);
    const reason = await lease.lost;
    expect(reason).toBeInstanceOf(Error);
    expect(lease.held).toBe(false);
    // Every lease of that connection went with it.
    await second.lost;
    const taken = await waiting;
    expect(taken.held).toBe(true);
    expect(await a.acquireLease('terminated')).toBeUndefined();
    // The journal opens a new lease connection by itself.
    const again = await a.acquireLease('terminated-too');
    expect(again).toBeDefined();
    await lease.release(); // harmless after a loss
    await taken.release();
    await again!.release();
  });

  it('heldLeases answers which names anyone holds, in this schema, without taking the free ones', async () => {
    const a = journal();
    const b = journal();
    const other = journal(await pgr!.newSchema('pg_leases_held'));
    const held = await a.acquireLease('slot:1');
    await other.acquireLease('slot:2');
    const names = ['slot:0', 'slot:1', 'slot:2', 'slot:3'];
    expect([...(await b.heldLeases(names))]).toEqual(['slot:1']);
    // Held by this very journal counts too; asking took nothing: every free name can still be taken.
    expect([...(await a.heldLeases(names))]).toEqual(['slot:1']);
    for (const name of ['slot:0', 'slot:2', 'slot:3']) {
      const lease = await b.acquireLease(name);
      expect(lease?.held).toBe(true);
      await lease!.release();
    }
    await held!.release();
    expect((await b.heldLeases(names)).size).toBe(0);
    expect((await b.heldLeases([])).size).toBe(0);
  });

  it('namespaces names by schema: equal names in two schemas do not collide', async () => {
    const otherSchema = await pgr!.newSchema('pg_leases_b');
    const a = journal(pgr!.schema);
    const b = journal(otherSchema);
    const inA = await a.acquireLease('outbox:outbox');
    const inB = await b.acquireLease('outbox:outbox');
    expect(inA).toBeDefined();
    expect(inB).toBeDefined();
    expect(leaseLockKey(pgr!.schema, 'outbox:outbox')).not.toBe(leaseLockKey(otherSchema, 'outbox:outbox'));
    // Stable: the same inputs give the same key in every process.
    expect(leaseLockKey('steadfast', 'outbox:outbox')).toBe(leaseLockKey('steadfast', 'outbox:outbox'));
    await inA!.release();
    await inB!.release();
  });

  it('close() of the journal releases its leases (not lost) and refuses new ones', async () => {
    const a = postgresJournal({ connectionString: pgr!.connectionString, schema: pgr!.schema, applicationName: appName('close') });
    const b = journal();
    const lease = (await a.acquireLease('closing'))!;
    await a.close();
    expect(lease.held).toBe(false);
    expect(await notYet(lease.lost)).toBe(true);
    await expect(a.acquireLease('closing')).rejects.toThrow(/closed/);
    const taken = await acquireEventually(b, 'closing');
    await taken.release();
  });

  it('is lost when the server stops answering (a silent network): the liveness check times out', async () => {
    // A TCP proxy that can be frozen: bytes stop flowing both ways, nothing is closed.
    const target = new URL(pgr!.connectionString);
    let frozen = false;
    const sockets: Socket[] = [];
    const proxy: Server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.push(client, upstream);
      client.on('data', (chunk) => frozen || upstream.write(chunk));
      upstream.on('data', (chunk) => frozen || client.write(chunk));
      for (const socket of [client, upstream]) socket.on('error', () => {});
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new URL(pgr!.connectionString);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String((proxy.address() as { port: number }).port);
    const options = resolveOptions({ connectionString: viaProxy.href, schema: pgr!.schema, applicationName: appName('silent') }, 'test');
    const leases = new AdvisoryLeases(options, { checkIntervalMs: 100, queryTimeoutMs: 500 });
    try {
      const lease = (await leases.acquire('silent'))!;
      expect(lease).toBeDefined();
      const started = Date.now();
      frozen = true;
      const reason = await lease.lost;
      expect(reason.message).toMatch(/timeout/i);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await leases.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
