/**
 * One writer per outbox on PostgreSQL: a second service process on the same schema is a hot standby
 * (503 `standby` with Retry-After on the outbox routes, role `standby` in /healthz and /metrics), takes
 * over when the active one shuts down, and an active process whose lease is lost steps down.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { leaseLockKey } from '../../journal/postgres/advisory-leases.js';
import { parseExposition, sampleValue } from './support/exposition.js';
import { postgresResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const pg = await postgresResource('standby');
const data = tempDataDir('standby');
const running: ServiceProcess[] = [];
afterAll(async () => {
  for (const service of running) await service.stop('SIGKILL');
  await pg?.cleanup();
  data.remove();
});

async function start(schema: string): Promise<RunningServiceProcess> {
  const service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    PG_URL: pg!.connectionString,
    PG_SCHEMA: schema,
    REDELIVER_INTERVAL_MS: '200',
    REDELIVERY_MAX_INTERVAL_MS: '500',
  });
  running.push(service);
  return service;
}

async function role(service: RunningServiceProcess): Promise<string | undefined> {
  try {
    return (await getJson(service.baseUrl, '/healthz')).json.role as string;
  } catch {
    return undefined;
  }
}

/** The backend holding the outbox lease of `schema` (an int8 advisory key shows as classid/objid). */
async function leaseHolder(schema: string): Promise<number | undefined> {
  const key = BigInt.asUintN(64, BigInt(leaseLockKey(schema, 'outbox:outbox')));
  const result = await pg!.admin.query<{ pid: number }>(
    `select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and classid = $1::int8::oid and objid = $2::int8::oid and database = (select oid from pg_database where datname = current_database())`,
    [String(key >> 32n), String(key & 0xffffffffn)],
  );
  return result.rows[0]?.pid;
}

describe.runIf(pg)('service: one active writer per outbox, hot standby', () => {
  let endpoint: FlakyEndpoint;

  it('a second process is a standby: 503 standby on every outbox route, healthz and metrics say so; it takes over after a graceful shutdown', async () => {
    endpoint = await flakyEndpoint();
    const schema = await pg!.newSchema('standby_a');
    const active = await start(schema);
    const standby = await start(schema);
    expect(active.lines.find((line) => line.msg === 'steadfast listening')?.role).toBe('active');
    expect(standby.lines.find((line) => line.msg === 'steadfast listening')?.role).toBe('standby');
    expect(standby.lines.some((line) => line.msg === `another process holds the outbox of schema ${schema}; waiting as hot standby`)).toBe(true);

    expect(await getJson(active.baseUrl, '/healthz')).toEqual({
      status: 200,
      json: { status: 'ok', role: 'active', checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: true, reason: 'running' } } },
    });
    expect(await getJson(standby.baseUrl, '/healthz')).toEqual({
      status: 503,
      json: {
        status: 'unavailable',
        role: 'standby',
        checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: false, reason: 'standby', message: expect.stringContaining('another process holds the outbox') } },
      },
    });

    const message = { destination: { transport: 'http', url: endpoint.url }, payload: { n: 1 } };
    const refused = await fetch(`${standby.baseUrl}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'standby', message: expect.stringContaining(`schema ${schema}`) } });
    for (const [method, path] of [
      ['GET', '/deliveries'],
      ['GET', '/deliveries/1'],
      ['GET', '/dead-letters'],
      ['POST', '/dead-letters/redrive'],
      ['POST', '/dead-letters/1/redrive'],
      ['DELETE', '/deliveries/1'],
      ['DELETE', '/dead-letters/1'],
    ] as const) {
      const response = await fetch(`${standby.baseUrl}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('standby');
    }
    const standbyMetrics = await (await fetch(`${standby.baseUrl}/metrics`)).text();
    expect(standbyMetrics).toMatch(/^steadfast_role\{role="standby"\} 1$/m);
    expect(standbyMetrics).toMatch(/^steadfast_role\{role="active"\} 0$/m);
    expect(standbyMetrics).not.toMatch(/steadfast_deliveries_in_flight/);
    // A standby recovered no outbox and delivers nothing: its outbox series say so (and it parses strictly).
    expect(sampleValue(parseExposition(standbyMetrics), 'steadfast_outbox_recoveries_total')).toBe(0);
    expect(sampleValue(parseExposition(standbyMetrics), 'steadfast_delivery_accept_to_confirm_seconds_count')).toBe(0);
    const activeMetrics = await (await fetch(`${active.baseUrl}/metrics`)).text();
    expect(activeMetrics).toMatch(/^steadfast_role\{role="active"\} 1$/m);
    expect(activeMetrics).toMatch(/^steadfast_deliveries_in_flight \d+$/m);
    expect(sampleValue(parseExposition(activeMetrics), 'steadfast_outbox_recoveries_total')).toBe(1);
    // PostgreSQL recovers with replayForRecovery: timed like a replay.
    expect(sampleValue(parseExposition(activeMetrics), 'steadfast_journal_replay_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    // Accepted by the active one, then a graceful shutdown: the standby takes over and owns them.
    const accepted: number[] = [];
    for (let n = 0; n < 20; n++) {
      const response = await postJson(active.baseUrl, '/messages', { ...message, payload: { n } }, { 'idempotency-key': `graceful-${n}` });
      expect(response.status).toBe(202);
      accepted.push(response.json.deliveryId as number);
    }
    const stoppedAt = Date.now();
    expect(await active.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await standby.waitFor((line) => line.msg === `active: the outbox of schema ${schema} is ours`, 20_000);
    console.log(`graceful takeover: ${Date.now() - stoppedAt} ms from SIGTERM to the standby's outbox recovered`);
    expect(await getJson(standby.baseUrl, '/healthz')).toMatchObject({ status: 200, json: { role: 'active' } });
    // A retried submission finds its first delivery id on the new active process.
    expect(await postJson(standby.baseUrl, '/messages', { ...message, payload: { n: 0 } }, { 'idempotency-key': 'graceful-0' })).toMatchObject({
      status: 202,
      json: { deliveryId: accepted[0], duplicate: true },
    });
    const fresh = await postJson(standby.baseUrl, '/messages', { ...message, payload: { n: 20 } });
    expect(fresh.status).toBe(202);
    expect(fresh.json.deliveryId as number).toBeGreaterThan(Math.max(...accepted));
    await waitUntil('every message arrived', () => new Set(endpoint.accepted.map((body) => (body as { n: number }).n)).size === 21, 30_000);
    await waitUntil('nothing in flight on the new active one', async () => (await getJson(standby.baseUrl, '/deliveries')).json.count === 0, 30_000);
    expect(await standby.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await endpoint.close();
  }, 120_000);

  it('an active process whose lease is lost (its session terminated) steps down; exactly one active remains and accepts', async () => {
    endpoint = await flakyEndpoint();
    const schema = await pg!.newSchema('standby_b');
    const first = await start(schema);
    const second = await start(schema);
    expect(await role(first)).toBe('active');
    expect(await role(second)).toBe('standby');
    const holder = await leaseHolder(schema);
    expect(holder).toBeDefined();
    await pg!.admin.query('select pg_terminate_backend($1)', [holder]);
    await first.waitFor((line) => line.msg === `lost the outbox lease of schema ${schema}; stepping down: no more accepting or sending here`, 10_000);
    // Whichever process tries first becomes active; the other one stays (or goes back to) standby.
    let roles: (string | undefined)[] = [];
    await waitUntil(
      'exactly one process is active again',
      async () => {
        roles = [await role(first), await role(second)];
        return roles.filter((r) => r === 'active').length === 1 && roles.filter((r) => r === 'standby').length === 1;
      },
      20_000,
    );
    const active = roles[0] === 'active' ? first : second;
    const standby = active === first ? second : first;
    expect((await postJson(active.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { n: 1 } })).status).toBe(202);
    expect((await postJson(standby.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { n: 2 } })).json).toMatchObject({
      error: { code: 'standby' },
    });
    await waitUntil('the message arrived', () => endpoint.accepted.length >= 1, 30_000);
    expect(await leaseHolder(schema)).toBeDefined();
    for (const service of [first, second]) expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const logs = [...first.lines, ...second.lines].map((line) => JSON.stringify(line));
    expect(logs.filter((line) => /uncaught|unhandled/i.test(line))).toEqual([]);
    await endpoint.close();
  }, 120_000);
});
