/**
 * The service on MySQL/MariaDB (MYSQL_URL): `steadfast migrate` applies the migrations alone, the
 * service delivers, survives SIGKILL with every accepted message, and a second process on the same
 * database waits as a hot standby (named-lock lease) until the first one is gone.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { MIGRATIONS } from '../../journal/mysql/index.js';
import { mysqlResource } from '../support/services.js';
import { flakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, REPO_ROOT, ServiceProcess, tempDataDir } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const db = await mysqlResource('service');
const data = tempDataDir('mysql');
afterAll(async () => {
  await db?.cleanup();
  data.remove();
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'service/cli.ts', ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(db)('service on MySQL', () => {
  it('steadfast migrate applies the migrations to the database MYSQL_URL names, then nothing', async () => {
    const url = await db!.newDatabase('svc_migrate');
    const first = await cli(['migrate'], { MYSQL_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`applied ${MIGRATIONS.map((m) => m.version).join(', ')}`);
    const again = await cli(['migrate', '--connection-string', url], {});
    expect(again.stdout).toMatch(/nothing to apply/);
    const both = await cli(['migrate'], { MYSQL_URL: url, PG_URL: 'postgres://x@127.0.0.1/db' });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/MYSQL_URL.*cannot be combined with PG_URL/);
  });

  it('delivers through the MySQL journal; a second process waits as standby and, after a SIGKILL of the first, delivers every accepted message', async () => {
    const endpoint = await flakyEndpoint((n) => n % 2 === 0);
    const env = { DATA_DIR: data.dir, MYSQL_URL: db!.connectionString, REDELIVER_INTERVAL_MS: '100', REDELIVERY_MAX_INTERVAL_MS: '300' };
    let service: Awaited<ReturnType<typeof ServiceProcess.start>> | undefined;
    let standby: typeof service;
    try {
      service = await ServiceProcess.start(env);
      expect(await getJson(service.baseUrl, '/healthz')).toEqual({
        status: 200,
        json: { status: 'ok', role: 'active', checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: true, reason: 'running' } } },
      });
      const ids: number[] = [];
      for (let n = 0; n < 50; n++) {
        const response = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { n } });
        expect(response.status).toBe(202);
        ids.push(response.json.deliveryId as number);
      }
      standby = await ServiceProcess.start(env);
      expect(standby.lines.find((line) => line.msg === 'steadfast listening')?.role).toBe('standby');
      await service.stop('SIGKILL');
      const [rows] = await db!.admin.query<RowDataPacket[]>('select count(*) as n from journal');
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(50);
      // The killed process's session closed with its socket, and its named lock with it.
      const next = standby;
      await waitUntil('the standby took over', async () => (await getJson(next.baseUrl, '/healthz')).json.role === 'active');
      await waitUntil('every message arrived', () => new Set(endpoint.accepted.map((b) => (b as { n: number }).n)).size === 50);
      await waitUntil('nothing in flight', async () => (await getJson(next.baseUrl, '/deliveries')).json.count === 0);
      expect((await getJson(next.baseUrl, `/deliveries/${ids[49]!}`)).json.status).toBe('confirmed');
      expect(await next.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await service?.stop('SIGKILL');
      await standby?.stop('SIGKILL');
      await endpoint.close();
    }
  }, 120_000);
});
