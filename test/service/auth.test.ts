/**
 * Who may call the service: with API_TOKEN every route but GET /healthz needs the bearer token or the
 * session cookie of POST /session; failed attempts are rate-limited per remote address. Each test
 * speaks from a loopback source address of its own, so the rate limit of one does not touch another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth, FailureLimiter, isLoopbackHost, SESSION_COOKIE } from '../../service/auth.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call } from './support/requests.js';
import { ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const TOKEN = 'test-token-0123456789abcdef';
const data = tempDataDir('auth');
let service: RunningServiceProcess;
let sink: FlakyEndpoint;

beforeAll(async () => {
  sink = await flakyEndpoint();
  service = await ServiceProcess.start({ DATA_DIR: data.dir, API_TOKEN: TOKEN });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await sink?.close();
  data.remove();
});

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const message = () => ({ destination: { transport: 'http', url: sink.url }, payload: { hello: 'auth' } });

const PROTECTED: [string, string, unknown?][] = [
  ['POST', '/messages', undefined],
  ['GET', '/deliveries'],
  ['GET', '/deliveries/1'],
  ['DELETE', '/deliveries/1'],
  ['GET', '/dead-letters'],
  ['POST', '/dead-letters/redrive'],
  ['POST', '/dead-letters/1/redrive'],
  ['DELETE', '/dead-letters/1'],
  ['GET', '/metrics'],
  ['GET', '/nope'],
];

function cookieOf(setCookie: string[] | undefined): string {
  const line = setCookie?.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!line) throw new Error(`no session cookie in ${JSON.stringify(setCookie)}`);
  return line.split(';')[0]!;
}

describe('API_TOKEN', () => {
  it('answers 401 unauthorized with WWW-Authenticate on every route but /healthz, without or with a wrong token', async () => {
    for (const [index, [method, path]] of PROTECTED.entries()) {
      const body = path === '/messages' ? message() : undefined;
      for (const headers of [{}, bearer('wrong-token-0123456789'), { authorization: 'Basic dXNlcjpwYXNz' }]) {
        // An address per route: the wrong tokens here stay below the rate limit.
        const answer = await call(service.baseUrl, method, path, { headers, body, from: `127.0.1.${index + 1}` });
        expect({ method, path, headers, status: answer.status }).toEqual({ method, path, headers, status: 401 });
        expect(answer.json.error?.code).toBe('unauthorized');
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="steadfast"');
      }
    }
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: bearer() })).json.count).toBe(0);
    const health = await call(service.baseUrl, 'GET', '/healthz', { from: '127.0.0.2' });
    expect(health.status).toBe(200);
  });

  it('lets the right token through: 202 for a message, 200 for the rest', async () => {
    const accepted = await call(service.baseUrl, 'POST', '/messages', { headers: bearer(), body: message(), from: '127.0.0.3' });
    expect(accepted.status).toBe(202);
    for (const [method, path, status] of [
      ['GET', '/deliveries', 200],
      ['GET', '/dead-letters', 200],
      ['GET', `/deliveries/${String(accepted.json.deliveryId)}`, 200],
      ['GET', '/metrics', 200],
      ['POST', '/dead-letters/redrive', 200],
      ['DELETE', '/dead-letters/1', 404],
      ['GET', '/nope', 404],
    ] as const) {
      expect({ path, status: (await call(service.baseUrl, method, path, { headers: { authorization: `bearer ${TOKEN}` }, from: '127.0.0.3' })).status }).toEqual({ path, status });
    }
  });

  it('never logs the token', () => {
    expect(JSON.stringify(service.lines) + service.stderr).not.toContain(TOKEN);
    expect(service.lines[0]!.config).toMatchObject({ apiToken: '[redacted]' });
  });
});

describe('POST /session and the session cookie', () => {
  it('sets an HttpOnly SameSite=Strict cookie for the right token (body or bearer header), which then authenticates', async () => {
    const signIn = await call(service.baseUrl, 'POST', '/session', { body: { token: TOKEN }, from: '127.0.0.4' });
    expect(signIn.status).toBe(200);
    expect(signIn.json.expiresAt).toMatch(/^\d{4}-/);
    const setCookie = signIn.headers['set-cookie']!;
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.\\d+\\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200$`));
    const cookie = cookieOf(setCookie);
    const listed = await call(service.baseUrl, 'GET', '/deliveries', { headers: { cookie: `other=1; ${cookie}` }, from: '127.0.0.4' });
    expect(listed.status).toBe(200);
    const posted = await call(service.baseUrl, 'POST', '/messages', { headers: { cookie, 'sec-fetch-site': 'same-origin' }, body: message(), from: '127.0.0.4' });
    expect(posted.status).toBe(202);

    const viaHeader = await call(service.baseUrl, 'POST', '/session', { headers: bearer(), from: '127.0.0.4' });
    expect(viaHeader.status).toBe(200);
    expect(cookieOf(viaHeader.headers['set-cookie'])).toMatch(/^steadfast_session=v1\./);
  });

  it('marks the cookie Secure unless the request came over plain HTTP to loopback', async () => {
    const proxied = await call(service.baseUrl, 'POST', '/session', { headers: { 'x-forwarded-proto': 'https' }, body: { token: TOKEN }, from: '127.0.0.4' });
    expect(proxied.headers['set-cookie']![0]).toMatch(/; Secure$/);
    const publicHost = await call(service.baseUrl, 'POST', '/session', { headers: { host: 'steadfast.example.com' }, body: { token: TOKEN }, from: '127.0.0.4' });
    expect(publicHost.headers['set-cookie']![0]).toMatch(/; Secure$/);
  });

  it('gives no cookie for a wrong token, and refuses tampered, expired and foreign cookies', async () => {
    const wrong = await call(service.baseUrl, 'POST', '/session', { body: { token: 'wrong-token-0123456789' }, from: '127.0.0.5' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error?.code).toBe('unauthorized');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await call(service.baseUrl, 'POST', '/session', { body: { token: 42 }, from: '127.0.0.5' })).status).toBe(400);
    expect((await call(service.baseUrl, 'POST', '/session', { from: '127.0.0.5' })).status).toBe(401);

    const good = cookieOf((await call(service.baseUrl, 'POST', '/session', { body: { token: TOKEN }, from: '127.0.0.5' })).headers['set-cookie']);
    const last = good.at(-1)!;
    const tampered = good.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    const [, , mac] = good.split('=')[1]!.split('.');
    const extended = `${SESSION_COOKIE}=v1.${Date.now() + 10 * 24 * 3600_000}.${mac!}`;
    // Same token, same derivation: a cookie made here is one the service would have issued.
    const expired = `${SESSION_COOKIE}=${new ApiAuth(TOKEN).sessionValue(Date.now() - 1000)}`;
    const foreign = `${SESSION_COOKIE}=${new ApiAuth('another-token-0123456789').sessionValue()}`;
    for (const cookie of [tampered, extended, expired, foreign, `${SESSION_COOKIE}=garbage`]) {
      const answer = await call(service.baseUrl, 'GET', '/deliveries', { headers: { cookie }, from: '127.0.0.5' });
      expect({ cookie, status: answer.status }).toEqual({ cookie, status: 401 });
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="steadfast"');
    }
    const derived = `${SESSION_COOKIE}=${new ApiAuth(TOKEN).sessionValue()}`;
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: { cookie: derived }, from: '127.0.0.5' })).status).toBe(200);
  });

  it('refuses a cookie-authenticated change that a browser reports as cross-site', async () => {
    const cookie = cookieOf((await call(service.baseUrl, 'POST', '/session', { body: { token: TOKEN }, from: '127.0.0.6' })).headers['set-cookie']);
    const crossSite = await call(service.baseUrl, 'POST', '/dead-letters/redrive', { headers: { cookie, 'sec-fetch-site': 'same-site' }, from: '127.0.0.6' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json.error?.code).toBe('cross_site_request');
    const otherOrigin = await call(service.baseUrl, 'POST', '/dead-letters/redrive', { headers: { cookie, origin: 'http://127.0.0.1:3000' }, from: '127.0.0.6' });
    expect(otherOrigin.status).toBe(403);
    const sameOrigin = await call(service.baseUrl, 'POST', '/dead-letters/redrive', { headers: { cookie, origin: service.baseUrl }, from: '127.0.0.6' });
    expect(sameOrigin.status).toBe(200);
    // Reading is not a change: a cross-site page cannot read the answer anyway (no CORS).
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: { cookie, 'sec-fetch-site': 'same-site' }, from: '127.0.0.6' })).status).toBe(200);
  });

  it('DELETE /session clears the cookie', async () => {
    const signOut = await call(service.baseUrl, 'DELETE', '/session', { from: '127.0.0.6' });
    expect(signOut.status).toBe(200);
    expect(signOut.headers['set-cookie']![0]).toMatch(new RegExp(`^${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0$`));
  });
});

describe('rate limit of failed attempts', () => {
  it('answers 429 past a burst of wrong tokens from one address, not to others, and not to a valid session', async () => {
    const cookie = cookieOf((await call(service.baseUrl, 'POST', '/session', { body: { token: TOKEN }, from: '127.0.0.9' })).headers['set-cookie']);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call(service.baseUrl, 'GET', '/deliveries', { headers: bearer(`wrong-${i}-0123456789abcdef`), from: '127.0.0.9' })).status);
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
    const limited = await call(service.baseUrl, 'GET', '/deliveries', { headers: bearer(), from: '127.0.0.9' });
    expect(limited.status).toBe(429);
    expect(limited.json.error?.code).toBe('too_many_auth_failures');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await call(service.baseUrl, 'POST', '/session', { body: { token: TOKEN }, from: '127.0.0.9' })).status).toBe(429);
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: { cookie }, from: '127.0.0.9' })).status).toBe(200);
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: bearer(), from: '127.0.0.10' })).status).toBe(200);
    // Missing credentials are not attempts: they do not count.
    for (let i = 0; i < 12; i++) expect((await call(service.baseUrl, 'GET', '/deliveries', { from: '127.0.0.11' })).status).toBe(401);
    expect((await call(service.baseUrl, 'GET', '/deliveries', { headers: bearer(), from: '127.0.0.11' })).status).toBe(200);
  });

  it('refills over time and keeps a bounded number of addresses', () => {
    let now = 0;
    const limiter = new FailureLimiter(() => now, 3, 1000, 100);
    for (let i = 0; i < 3; i++) limiter.fail('10.0.0.1');
    expect(limiter.blockedFor('10.0.0.1')).toBe(1);
    now += 1000;
    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
    // One IPv6 /64 is one client.
    for (let i = 0; i < 3; i++) limiter.fail(`2001:db8:1:2::${i + 1}`);
    expect(limiter.blockedFor('2001:db8:1:2:ffff::9')).toBeGreaterThan(0);
    expect(limiter.blockedFor('2001:db8:1:3::1')).toBe(0);
    for (let i = 0; i < 1000; i++) limiter.fail(`10.1.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '192.168.0.1', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
