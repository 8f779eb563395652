/**
 * PostgreSQL turned read-only under a running service (`ALTER DATABASE ... SET
 * default_transaction_read_only = on` on a database of this test's own, its sessions ended so that
 * new ones see it): a submission fails within a second with 503 `journal_unavailable` and the reason
 * `read_only` (the outbox answers the failed write at once), `/healthz` says 503 with the same reason,
 * and once the database accepts writes again the node accepts by itself.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { postgresResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call, type Answer } from './support/requests.js';
import { getJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const server = await postgresResource('read_only');
const database = `sf_read_only_${process.pid}_${randomBytes(3).toString('hex')}`;
const data = tempDataDir('pg-read-only');
let service: RunningServiceProcess | undefined;
let endpoint: FlakyEndpoint;

function databaseUrl(): string {
  const url = new URL(server!.connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Ends the service's sessions of our database, so that the new ones take its current defaults. */
async function endServiceSessions(): Promise<void> {
  await server!.admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name in ('steadfast-service', 'steadfast-service-leases')`, [
    database,
  ]);
}

beforeAll(async () => {
  if (!server) return;
  endpoint = await flakyEndpoint();
  await server.admin.query(`create database "${database}"`);
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await endpoint?.close();
  if (server) {
    await server.admin.query(`drop database if exists "${database}" with (force)`);
    await server.cleanup();
  }
  data.remove();
});

async function submit(n: number): Promise<Answer & { ms: number }> {
  const started = performance.now();
  const answer = await call(service!.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url: endpoint.url }, payload: { n }, idempotencyKey: `ro-${n}` } });
  return { ...answer, ms: performance.now() - started };
}

describe.runIf(server)('PostgreSQL read-only', () => {
  it('refuses within a second with journal_unavailable/read_only, says so on /healthz, and accepts again once writable', async () => {
    service = await ServiceProcess.start({ DATA_DIR: data.dir, PG_URL: databaseUrl(), PG_SCHEMA: 'steadfast', REDELIVER_INTERVAL_MS: '300' });
    expect((await submit(0)).status).toBe(202);
    await waitUntil('delivered', () => endpoint.accepted.length >= 1);

    await server!.admin.query(`alter database "${database}" set default_transaction_read_only = on`);
    const retaken = service.lines.filter((line) => line.msg.startsWith('active: the outbox of')).length;
    await endServiceSessions();
    // The lease's session ended too: the process steps down and takes the outbox again (on read-only sessions).
    await waitUntil('the outbox is active again', () => service!.lines.filter((line) => line.msg.startsWith('active: the outbox of')).length > retaken, 30_000);

    const refused = await submit(1);
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatchObject({ code: 'journal_unavailable', reason: 'read_only', message: expect.stringContaining('read-only transaction') });
    expect(refused.ms).toBeLessThan(1000);
    expect(refused.headers['retry-after']).toBeDefined();
    const again = await submit(2);
    expect(again).toMatchObject({ status: 503, json: { error: { code: 'journal_unavailable', reason: 'read_only' } } });
    expect(again.ms).toBeLessThan(1000);
    expect(await getJson(service.baseUrl, '/healthz')).toMatchObject({
      status: 503,
      json: { status: 'unavailable', role: 'active', checks: { journal: { ok: false, reason: 'read_only' } } },
    });

    await server!.admin.query(`alter database "${database}" reset default_transaction_read_only`);
    await endServiceSessions();
    await waitUntil('the node accepts again', async () => (await getJson(service!.baseUrl, '/healthz').catch(() => ({ status: 0 }))).status === 200, 30_000);
    const accepted = await submit(1);
    expect(accepted.status).toBe(202);
    await waitUntil('delivered after the outage', () => endpoint.accepted.some((body) => (body as { n: number }).n === 1), 30_000);
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
