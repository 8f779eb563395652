/**
 * `npm run migrate` and `steadfast migrate` read the service's own settings (PG_URL, PG_SCHEMA,
 * STEADFAST_CONFIG), so they migrate the schema the service will use; flags override them for a run.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../journal/postgres/index.js';
import { postgresResource } from '../support/services.js';
import { REPO_ROOT, tempDataDir } from './support/service-process.js';

const pg = await postgresResource('svc_migrate');
const files = tempDataDir('migrate-cli');
afterAll(async () => {
  await pg?.cleanup();
  files.remove();
});

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...base, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const steadfast = (args: string[], env: Record<string, string>) => run(process.execPath, ['--import', 'tsx', 'service/cli.ts', ...args], env);

async function versions(schema: string): Promise<number[]> {
  const result = await pg!.admin.query<{ version: number }>(`select version from "${schema}".schema_migrations order by version`);
  return result.rows.map((row) => row.version);
}

const ALL = MIGRATIONS.map((m) => m.version);

describe.runIf(pg)('migrate with the service settings', () => {
  it('npm run migrate migrates PG_SCHEMA', async () => {
    const schema = await pg!.newSchema('svc_mig_npm');
    const result = await run('npm', ['run', '--silent', 'migrate'], { PG_URL: pg!.connectionString, PG_SCHEMA: schema });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toContain(`schema "${schema}"`);
    expect(result.out).toContain(`applied ${ALL.join(', ')}`);
    expect(await versions(schema)).toEqual(ALL);
  });

  it('steadfast migrate reads STEADFAST_CONFIG like the service, the environment over it, the flags over both', async () => {
    const fromFile = await pg!.newSchema('svc_mig_file');
    const config = join(files.dir, 'steadfast.json');
    writeFileSync(config, JSON.stringify({ pgUrl: pg!.connectionString, pgSchema: fromFile }));
    const first = await steadfast(['migrate'], { STEADFAST_CONFIG: config });
    expect(first.code).toBe(0);
    expect(first.out).toContain(`schema "${fromFile}"`);
    expect(await versions(fromFile)).toEqual(ALL);
    const again = await steadfast(['migrate'], { STEADFAST_CONFIG: config });
    expect(again.out).toContain('nothing to apply');

    const fromEnv = await pg!.newSchema('svc_mig_env');
    const second = await steadfast(['migrate'], { STEADFAST_CONFIG: config, PG_SCHEMA: fromEnv });
    expect(second.code).toBe(0);
    expect(await versions(fromEnv)).toEqual(ALL);

    const fromFlag = await pg!.newSchema('svc_mig_flag');
    const third = await steadfast(['migrate', '--schema', fromFlag], { STEADFAST_CONFIG: config, PG_SCHEMA: fromEnv });
    expect(third.code).toBe(0);
    expect(await versions(fromFlag)).toEqual(ALL);
  });

  it('refuses settings the service would refuse, naming where they came from, with exit code 2', async () => {
    const badEnv = await steadfast(['migrate'], { PG_URL: pg!.connectionString, PG_SCHEMA: 'no-good' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.err).toContain('PG_SCHEMA must be a plain SQL identifier');
    const badFlag = await steadfast(['migrate', '--schema', 'no-good'], { PG_URL: pg!.connectionString });
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toContain('--schema must be a plain SQL identifier');
    const none = await steadfast(['migrate'], {});
    expect(none.code).toBe(2);
    expect(none.err).toContain('set PG_URL');
    const unknownFlag = await steadfast(['migrate', '--shema', 'x'], { PG_URL: pg!.connectionString });
    expect(unknownFlag.code).toBe(2);
  });
});
