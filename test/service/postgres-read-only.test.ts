/**
 * PostgreSQL turned read-only under a running service (`ALTER DATABASE ... SET
 * default_transaction_read_only = on` on a database of this test's own; only new sessions take it, so
 * the service's sessions are ended): a submission fails within a second with 503 `journal_unavailable`
 * and the reason `read_only` (the outbox answers the failed write at once), `/healthz` says 503 with the
 * same reason, and once the database accepts writes again the node accepts by itself.
 *
 * Two ways the outage meets the node: only the pool's sessions end and the lease session (which holds
 * the outbox's advisory lock) survives, as when an operator ends the writers' sessions or a server
 * turns read-only under live connections; the node must then keep its lease (no step-down) and recover
 * without anyone ending its sessions again. Or the lease session ends too: the node steps down and takes
 * the outbox again on a read-only session, and refuses the same way.
 *
 * Each wait is bounded well inside the test's timeout, so a wait that fails names itself: when the
 * lease session was first named apart, a wait for a step-down that no longer came ran into vitest's
 * "Test timed out in 30000ms" (both 30 s), which read like a service that never answered.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { postgresResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call, type Answer } from './support/requests.js';
import { getJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const server = await postgresResource('read_only');
const own = await server?.newDatabase('read_only');
const database = own?.name ?? '';
const data = tempDataDir('pg-read-only');
let service: RunningServiceProcess | undefined;
let endpoint: FlakyEndpoint;
const POOL = 'steadfast-service';
const LEASES = 'steadfast-service-leases';

function databaseUrl(): string {
  return own!.connectionString;
}

/**
 * Ends the service's sessions of our database with these application names, so that the new ones take
 * its current defaults; resolves once the backends are gone and, with `writerHeld` (the journal has
 * written since its last failure, so its writer holds a session), once the service noticed that end.
 */
async function endServiceSessions(names: readonly string[], { writerHeld }: { writerHeld: boolean }): Promise<void> {
  const writerFailures = (): number => service!.lines.filter((line) => line.msg.startsWith('steadfast/postgres: the writer connection failed')).length;
  const before = writerFailures();
  await server!.endSessions(database, names);
  // The writer holds its connection between flushes: a submission sent before the service saw it end would meet a dead socket (`unreachable`).
  if (writerHeld) await waitUntil("the service saw its writer's session end", () => writerFailures() > before, 5000, 10);
}

/** The backend holding the outbox's lease session, if any. */
async function leaseSession(): Promise<number | undefined> {
  const result = await server!.admin.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1 and application_name = $2`, [database, LEASES]);
  return result.rows[0]?.pid;
}

afterAll(async () => {
  await service?.stop('SIGKILL');
  await endpoint?.close();
  await server?.cleanup();
  data.remove();
});

/** A service of its own (schema, data dir, destination) for one test; stopped by the next or afterAll. */
async function startService(schema: string): Promise<void> {
  await service?.stop('SIGKILL');
  await endpoint?.close();
  endpoint = await flakyEndpoint();
  service = await ServiceProcess.start({ DATA_DIR: data.dir, PG_URL: databaseUrl(), PG_SCHEMA: schema, REDELIVER_INTERVAL_MS: '300' });
}

function delivered(n: number): number {
  return endpoint.accepted.filter((body) => (body as { n: number }).n === n).length;
}

async function submit(n: number): Promise<Answer & { ms: number }> {
  const started = performance.now();
  const answer = await call(service!.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url: endpoint.url }, payload: { n }, idempotencyKey: `ro-${n}` } });
  return { ...answer, ms: performance.now() - started };
}

describe.runIf(server)('PostgreSQL read-only', () => {
  it('with the lease session alive: refuses within a second, keeps the lease, and recovers by itself once writable', { timeout: 20_000 }, async () => {
    await startService('steadfast_lease_kept');
    expect((await submit(0)).status).toBe(202);
    await waitUntil('delivered and confirmed', async () => delivered(0) === 1 && (await call(service!.baseUrl, 'GET', '/deliveries')).json.count === 0, 5000);
    const lease = await leaseSession();
    expect(lease).toBeDefined();

    await server!.admin.query(`alter database "${database}" set default_transaction_read_only = on`);
    await endServiceSessions([POOL], { writerHeld: true });

    const refused = await submit(1);
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatchObject({ code: 'journal_unavailable', reason: 'read_only', message: expect.stringContaining('read-only transaction') });
    expect(refused.ms).toBeLessThan(1000);
    expect(refused.headers['retry-after']).toBeDefined();
    const again = await submit(2);
    expect(again).toMatchObject({ status: 503, json: { error: { code: 'journal_unavailable', reason: 'read_only' } } });
    expect(again.ms).toBeLessThan(1000);
    expect(await getJson(service!.baseUrl, '/healthz')).toMatchObject({
      status: 503,
      json: { status: 'unavailable', role: 'active', checks: { journal: { ok: false, reason: 'read_only' } } },
    });

    // Writable again for new sessions only; nobody ends the service's sessions this time.
    await server!.admin.query(`alter database "${database}" reset default_transaction_read_only`);
    await waitUntil('the node accepts again', async () => (await getJson(service!.baseUrl, '/healthz')).status === 200, 10_000);
    expect((await submit(3)).status).toBe(202);
    await waitUntil('delivered after the outage', () => delivered(3) === 1, 5000);

    // Still the same lease session, never stepped down: the outbox stayed this node's throughout.
    expect(await leaseSession()).toBe(lease);
    expect(service!.lines.filter((line) => line.msg.startsWith('lost the outbox lease'))).toEqual([]);
    // Nothing refused was persisted or sent; the accepted ones arrived once each.
    expect([delivered(0), delivered(1), delivered(2), delivered(3)]).toEqual([1, 0, 0, 1]);
  });

  it('with the lease session ended too: takes the outbox again, refuses the same way, and accepts again once writable', { timeout: 20_000 }, async () => {
    await startService('steadfast');
    expect((await submit(0)).status).toBe(202);
    await waitUntil('delivered', () => endpoint.accepted.length >= 1, 5000);

    await server!.admin.query(`alter database "${database}" set default_transaction_read_only = on`);
    const retaken = service!.lines.filter((line) => line.msg.startsWith('active: the outbox of')).length;
    await endServiceSessions([POOL, LEASES], { writerHeld: true });
    // The lease's session ended: the process steps down and takes the outbox again (on read-only sessions).
    await waitUntil('the outbox is active again', () => service!.lines.filter((line) => line.msg.startsWith('active: the outbox of')).length > retaken, 10_000);

    const refused = await submit(1);
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatchObject({ code: 'journal_unavailable', reason: 'read_only', message: expect.stringContaining('read-only transaction') });
    expect(refused.ms).toBeLessThan(1000);
    expect(refused.headers['retry-after']).toBeDefined();
    const again = await submit(2);
    expect(again).toMatchObject({ status: 503, json: { error: { code: 'journal_unavailable', reason: 'read_only' } } });
    expect(again.ms).toBeLessThan(1000);
    expect(await getJson(service!.baseUrl, '/healthz')).toMatchObject({
      status: 503,
      json: { status: 'unavailable', role: 'active', checks: { journal: { ok: false, reason: 'read_only' } } },
    });

    await server!.admin.query(`alter database "${database}" reset default_transaction_read_only`);
    await endServiceSessions([POOL, LEASES], { writerHeld: false });
    await waitUntil('the node accepts again', async () => (await getJson(service!.baseUrl, '/healthz').catch(() => ({ status: 0 }))).status === 200, 10_000);
    const accepted = await submit(1);
    expect(accepted.status).toBe(202);
    await waitUntil('delivered after the outage', () => delivered(1) === 1, 10_000);
  });

  it('the write probe finds a read-only session without writing anything', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const { postgresJournal, classifyPostgresError } = await import('../../journal/postgres/index.js');
      const journal = postgresJournal({ connectionString: databaseUrl(), schema: 'steadfast', poolSize: 1 });
      try {
        await journal.start();
        const rowsBefore = (await client.query<{ count: string }>('select count(*) from steadfast.journal')).rows[0]!.count;
        await journal.probeWrite();
        expect((await client.query<{ count: string }>('select count(*) from steadfast.journal')).rows[0]!.count).toBe(rowsBefore);
        await client.query(`alter database "${database}" set default_transaction_read_only = on`);
        await journal.pool.query(`select pg_terminate_backend(pg_backend_pid())`).catch(() => {});
        const error = await journal.probeWrite().then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(classifyPostgresError(error)).toBe('read_only');
        expect(journal.classifyError(error)).toBe('read_only');
      } finally {
        await client.query(`alter database "${database}" reset default_transaction_read_only`);
        await journal.close();
      }
    } finally {
      await client.end();
    }
  });
});
