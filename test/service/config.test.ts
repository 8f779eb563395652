/**
 * Configuration: validated at start; a wrong value stops the service with one line naming the setting
 * and exit code 2; logged configuration never shows passwords.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, redactedConfig, redactUrl, SETTINGS } from '../../service/config.js';
import { ConfigError } from '../../service/errors.js';
import { ServiceProcess, tempDataDir } from './support/service-process.js';

const data = tempDataDir('config');
afterAll(() => data.remove());

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has embedded defaults: loopback, port 8080, SQLite under ./data, no PostgreSQL, no RabbitMQ', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      pgUrl: undefined,
      amqpUrl: undefined,
      maxBodyBytes: 1_048_576,
      logPretty: false,
      heapGrowingPercent: 20,
    });
  });

  it('reads environment variables, over the JSON file of STEADFAST_CONFIG; an empty variable counts as unset', () => {
    const file = join(data.dir, 'settings.json');
    writeFileSync(file, JSON.stringify({ port: 9000, host: '0.0.0.0', apiToken: 'file-token-0123456789', redeliverIntervalMs: 250, logPretty: true }));
    const config = loadConfig({ STEADFAST_CONFIG: file, PORT: '9001', PG_URL: '', AMQP_URL: 'amqp://u:p@h:5672' });
    expect(config).toMatchObject({
      port: 9001,
      host: '0.0.0.0',
      apiToken: 'file-token-0123456789',
      redeliverIntervalMs: 250,
      logPretty: true,
      pgUrl: undefined,
      amqpUrl: 'amqp://u:p@h:5672',
    });
  });

  it('names the setting at fault', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'abc' }, /^invalid configuration: PORT must be an integer from 0 to 65535, got "abc"$/],
      [{ PORT: '70000' }, /^invalid configuration: PORT /],
      [{ PORT: '80.5' }, /^invalid configuration: PORT /],
      [{ PG_URL: 'mysql://x' }, /^invalid configuration: PG_URL must start with postgres:\/\/ or postgresql:\/\//],
      [{ PG_SCHEMA: 'a;drop' }, /^invalid configuration: PG_SCHEMA must be a plain SQL identifier/],
      [{ AMQP_URL: 'not a url' }, /^invalid configuration: AMQP_URL must be a URL/],
      [{ LOG_LEVEL: 'loud' }, /^invalid configuration: LOG_LEVEL must be one of fatal, error/],
      [{ LOG_PRETTY: 'maybe' }, /^invalid configuration: LOG_PRETTY must be 1 or 0/],
      [{ MAX_BODY_BYTES: '0' }, /^invalid configuration: MAX_BODY_BYTES /],
      [{ HEAP_GROWING_PERCENT: '-5' }, /^invalid configuration: HEAP_GROWING_PERCENT must be an integer from 0 to 1000/],
      [
        { REDELIVER_INTERVAL_MS: '5000', REDELIVERY_MAX_INTERVAL_MS: '100' },
        /^invalid configuration: REDELIVERY_MAX_INTERVAL_MS \(100\) must be at least REDELIVER_INTERVAL_MS \(5000\)$/,
      ],
      [{ STEADFAST_CONFIG: join(data.dir, 'missing.json') }, /^invalid configuration: STEADFAST_CONFIG names a file that cannot be read: .*ENOENT/],
    ];
    for (const [env, message] of cases) expect(configError(env).message).toMatch(message);
    expect(configError({ PORT: 'abc' })).toMatchObject({ code: 'ERR_CONFIG', setting: 'PORT' });
  });

  it('refuses unknown keys and wrong values in the file, naming the key and the file', () => {
    const file = join(data.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ prot: 8080 }));
    expect(configError({ STEADFAST_CONFIG: file }).message).toMatch(/^invalid configuration: prot \(in .*bad\.json\) is not a setting; known: port, host/);
    writeFileSync(file, JSON.stringify({ port: '80a' }));
    expect(configError({ STEADFAST_CONFIG: file }).message).toMatch(/port \(in .*bad\.json\) must be an integer/);
    writeFileSync(file, '{ nope');
    expect(configError({ STEADFAST_CONFIG: file }).message).toMatch(/STEADFAST_CONFIG file .* is not valid JSON/);
    writeFileSync(file, '[]');
    expect(configError({ STEADFAST_CONFIG: file }).message).toMatch(/must hold a JSON object/);
  });

  it('redacts passwords of URLs for logging, and does not echo them in errors', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/prod')).toBe('postgres://app:***@db:5432/prod');
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('postgres://db/prod')).toBe('postgres://db/prod');
    const logged = JSON.stringify(redactedConfig(loadConfig({ PG_URL: 'postgres://app:s3cret@db/prod', AMQP_URL: 'amqp://u:hunter2@mq' })));
    expect(logged).not.toMatch(/s3cret|hunter2/);
    expect(configError({ PG_URL: 'mysql://app:s3cret@db/prod' }).message).not.toContain('s3cret');
  });

  it('documents every setting', () => {
    for (const setting of SETTINGS) expect(setting.describe.length).toBeGreaterThan(10);
  });
});

describe('the service process with a wrong setting', () => {
  it('prints one line naming the setting, no stack trace, and exits with code 2', async () => {
    const service = ServiceProcess.spawn({ PORT: 'eighty', DATA_DIR: data.dir });
    expect(await service.exited).toEqual({ code: 2, signal: null });
    expect(service.stderr).toBe('steadfast: invalid configuration: PORT must be an integer from 0 to 65535, got "eighty"\n');
    expect(service.lines).toEqual([]);
  });

  it('does the same for a wrong value in the STEADFAST_CONFIG file', async () => {
    const file = join(data.dir, 'process.json');
    writeFileSync(file, JSON.stringify({ redeliverIntervalMs: -5 }));
    const service = ServiceProcess.spawn({ STEADFAST_CONFIG: file, DATA_DIR: data.dir });
    expect((await service.exited).code).toBe(2);
    const lines = service.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^steadfast: invalid configuration: redeliverIntervalMs \(in .*process\.json\) must be an integer from 10 up, got -5$/);
  });

  it('exits 1 with one clear line, without the password, when the journal cannot be reached', async () => {
    const service = ServiceProcess.spawn({ PORT: '0', PG_URL: 'postgres://app:topsecret@127.0.0.1:1/none', DATA_DIR: data.dir });
    expect((await service.exited).code).toBe(1);
    const output = JSON.stringify(service.lines) + service.stderr;
    expect(output).not.toContain('topsecret');
    const fatal = service.lines.filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toMatch(/^the journal \(PostgreSQL postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/none schema steadfast\) is not usable: .*ECONNREFUSED/);
    expect(service.lines[0]!.config).toMatchObject({ pgUrl: 'postgres://app:***@127.0.0.1:1/none' });
  });
});
