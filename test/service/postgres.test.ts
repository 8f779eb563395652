/**
 * The service on PostgreSQL (PG_URL, PG_SCHEMA): delivers, reports health, survives SIGKILL; and
 * `steadfast migrate` applies the schema alone.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresResource } from '../support/services.js';
import { flakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, REPO_ROOT, ServiceProcess, tempDataDir } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const pg = await postgresResource('service');
const data = tempDataDir('pg');
afterAll(async () => {
  await pg?.cleanup();
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

describe('steadfast CLI', () => {
  it('prints usage for help and refuses unknown commands with exit 2', async () => {
    const help = await cli(['help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/steadfast start/);
    const unknown = await cli(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "frobnicate"/);
  });
});

describe.runIf(pg)('service on PostgreSQL', () => {
  it('steadfast migrate applies the migrations to PG_SCHEMA', async () => {
    const schema = await pg!.newSchema('migrate');
    const result = await cli(['migrate'], { PG_URL: pg!.connectionString, PG_SCHEMA: schema });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`schema "${schema}": applied`));
    const tables = await pg!.admin.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [schema]);
    expect(tables.rows.length).toBeGreaterThan(0);
  });

  it('delivers through the PostgreSQL journal, answers 400 to a payload PostgreSQL refuses, and resumes after SIGKILL', async () => {
    const endpoint = await flakyEndpoint((n) => n % 2 === 0);
    const env = { DATA_DIR: data.dir, PG_URL: pg!.connectionString, PG_SCHEMA: pg!.schema, REDELIVER_INTERVAL_MS: '100', REDELIVERY_MAX_INTERVAL_MS: '300' };
    try {
      let service = await ServiceProcess.start(env);
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
      const refused = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { text: 'nul \u0000' } });
      expect(refused).toMatchObject({ status: 400, json: { error: { code: 'invalid_payload', message: expect.stringMatching(/journal refused/) } } });
      await service.stop('SIGKILL');
      const events = await pg!.admin.query<{ count: string }>(`select count(*) from "${pg!.schema}".journal`);
      expect(Number(events.rows[0]!.count)).toBeGreaterThanOrEqual(50);
      service = await ServiceProcess.start(env);
      try {
        await waitUntil('every message arrived', () => new Set(endpoint.accepted.map((b) => (b as { n: number }).n)).size === 50);
        await waitUntil('nothing in flight', async () => (await getJson(service.baseUrl, '/deliveries')).json.count === 0);
        expect((await getJson(service.baseUrl, `/deliveries/${ids[49]!}`)).json.status).toBe('confirmed');
        expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      } finally {
        await service.stop('SIGKILL');
      }
    } finally {
      await endpoint.close();
    }
  }, 120_000);
});
