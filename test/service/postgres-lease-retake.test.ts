/**
 * A lone active node whose lease session ends (`pg_terminate_backend` on `<app>-leases`) steps down and
 * takes its own outbox again. Until it has, its answers must say that, not that another process holds
 * the outbox (nobody does), and its log must not call the retake a takeover from a dead process.
 *
 * The window is held open on a database of this test's own with `ALLOW_CONNECTIONS false`, which
 * refuses every new session (superusers' too) while the existing ones go on: the node cannot open its
 * new lease session until the test allows connections again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { postgresResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call } from './support/requests.js';
import { getJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const server = await postgresResource('lease_retake');
const own = await server?.newDatabase('lease_retake');
const database = own?.name ?? '';
const data = tempDataDir('pg-lease-retake');
const LEASES = 'steadfast-service-leases';
let service: RunningServiceProcess | undefined;
let endpoint: FlakyEndpoint | undefined;

afterAll(async () => {
  await service?.stop('SIGKILL');
  await endpoint?.close();
  await server?.cleanup();
  data.remove();
});

function databaseUrl(): string {
  return own!.connectionString;
}

describe.runIf(server)('service: the active node loses its own outbox lease', () => {
  it('answers 503 standby saying the lease was lost and is being taken again, then logs taking it again (not a takeover)', { timeout: 30_000 }, async () => {
    endpoint = await flakyEndpoint();
    service = await ServiceProcess.start({ DATA_DIR: data.dir, PG_URL: databaseUrl(), PG_SCHEMA: 'steadfast' });
    const message = (n: number) => ({ body: { destination: { transport: 'http', url: endpoint!.url }, payload: { n }, idempotencyKey: `retake-${n}` } });
    expect((await call(service.baseUrl, 'POST', '/messages', message(0))).status).toBe(202);

    await server!.admin.query(`alter database "${database}" allow_connections false`);
    try {
      expect(await server!.endSessions(database, [LEASES])).toHaveLength(1);
      await service.waitFor((line) => line.msg === 'lost the outbox lease of schema steadfast; stepping down: no more accepting or sending here', 10_000);
      await service.waitFor((line) => line.msg.startsWith('cannot ask for the outbox lease of schema steadfast'), 10_000);

      const refused = await call(service.baseUrl, 'POST', '/messages', message(1));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json.error).toMatchObject({
        code: 'standby',
        message: expect.stringContaining('the outbox lease of schema steadfast was lost; this process is taking it again'),
      });
      expect(refused.json.error!.message).not.toContain('another process holds');
      expect(await getJson(service.baseUrl, '/healthz')).toMatchObject({
        status: 503,
        json: { role: 'standby', checks: { outbox: { ok: false, reason: 'standby', message: 'the outbox lease of schema steadfast was lost; this process is taking it again' } } },
      });
    } finally {
      await server!.admin.query(`alter database "${database}" allow_connections true`);
    }

    const ours = (): number => service!.lines.filter((line) => line.msg === 'active: the outbox of schema steadfast is ours').length;
    const before = ours();
    await service.waitFor((line) => line.msg === 'took the outbox of schema steadfast again after losing its lease; recovering', 10_000);
    await waitUntil('the outbox recovered again', () => ours() > before, 10_000, 20);
    expect((await call(service.baseUrl, 'POST', '/messages', message(1))).status).toBe(202);
    await waitUntil('both delivered', () => endpoint!.accepted.length >= 2, 10_000);
    const said = service.lines.map((line) => line.msg);
    expect(said.filter((msg) => msg.startsWith('took over the outbox') || msg.startsWith('another process holds the outbox'))).toEqual([]);
  });
});
