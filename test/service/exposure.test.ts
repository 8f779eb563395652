/**
 * Listening beyond loopback without API_TOKEN is refused at start (exit 2, one line naming the
 * setting), unless ALLOW_UNAUTHENTICATED=true, which starts with a warning.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/config.js';
import { ConfigError } from '../../service/errors.js';
import { ServiceProcess, tempDataDir } from './support/service-process.js';

const data = tempDataDir('exposure');
afterAll(() => data.remove());

function configError(env: Record<string, string>): ConfigError | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

describe('HOST, API_TOKEN and ALLOW_UNAUTHENTICATED', () => {
  it('refuses a non-loopback HOST without a token, naming HOST and the way out', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'myhost.example.com']) {
      const error = configError({ HOST: host });
      expect(error, host).toBeDefined();
      expect(error!.setting).toBe('HOST');
      expect(error!.message).toMatch(/^invalid configuration: HOST ".*" is not a loopback address and API_TOKEN is not set: .*set API_TOKEN \(or ALLOW_UNAUTHENTICATED=true/);
      expect(error!.message).not.toContain('\n');
    }
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(configError({ HOST: host }), host).toBeUndefined();
    expect(configError({ HOST: '0.0.0.0', API_TOKEN: 'a-long-enough-token-1234' })).toBeUndefined();
    expect(configError({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })).toBeUndefined();
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })).toMatchObject({ allowUnauthenticated: true, apiToken: undefined });
  });

  it('refuses a short token without echoing it', () => {
    const error = configError({ API_TOKEN: 'short-secret' });
    expect(error?.message).toMatch(/^invalid configuration: API_TOKEN must be at least 16 characters/);
    expect(error?.message).not.toContain('short-secret');
    expect(configError({ API_TOKEN: 'has a space in it 0123' })?.message).toMatch(/without spaces/);
  });

  it('reads HTTP_ALLOWED_HOSTS as a comma-separated list, checked entry by entry', () => {
    expect(loadConfig({ HTTP_ALLOWED_HOSTS: ' hooks.example.com, *.internal.example ,10.0.0.0/8 ' }).httpAllowedHosts).toEqual([
      'hooks.example.com',
      '*.internal.example',
      '10.0.0.0/8',
    ]);
    expect(loadConfig({}).httpAllowedHosts).toBeUndefined();
    expect(configError({ HTTP_ALLOWED_HOSTS: '10.0.0.0/40' })?.message).toMatch(/^invalid configuration: HTTP_ALLOWED_HOSTS entry "10\.0\.0\.0\/40": the prefix length/);
    expect(configError({ HTTP_ALLOWED_HOSTS: ' , ' })?.message).toMatch(/^invalid configuration: HTTP_ALLOWED_HOSTS must be a comma-separated list/);
  });

  it('the process exits 2 with one line on HOST=0.0.0.0 without a token', async () => {
    const service = ServiceProcess.spawn({ PORT: '0', HOST: '0.0.0.0', DATA_DIR: data.dir });
    expect(await service.exited).toEqual({ code: 2, signal: null });
    const lines = service.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^steadfast: invalid configuration: HOST "0\.0\.0\.0" is not a loopback address and API_TOKEN is not set/);
    expect(service.lines).toEqual([]);
  });

  it('with ALLOW_UNAUTHENTICATED=true it starts, with a warning line', async () => {
    const service = await ServiceProcess.start({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true', DATA_DIR: data.dir });
    try {
      const warning = service.lines.find((line) => line.level === 40 && /without API_TOKEN/.test(line.msg));
      expect(warning?.msg).toMatch(/^listening on 0\.0\.0\.0 without API_TOKEN \(ALLOW_UNAUTHENTICATED=true\): anyone who can reach this address/);
      expect((await fetch(`${service.baseUrl}/deliveries`)).status).toBe(200);
    } finally {
      await service.stop('SIGKILL');
    }
  });
});
