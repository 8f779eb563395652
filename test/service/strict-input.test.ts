/**
 * Input the service refuses instead of changing it silently, and the operator's routes: a reused
 * idempotency key, repeated key headers, header values HTTP cannot carry, JSON nested too deep,
 * integers JSON.parse would round; pages of /deliveries and /dead-letters; DELETE /deliveries/:id
 * (also across a restart that recovers from a snapshot); `steadfast --version`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/requests.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, REPO_ROOT, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const data = tempDataDir('strict-input');
const environment = { DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '200', REDELIVERY_MAX_INTERVAL_MS: '200', SNAPSHOT_EVERY: '3' };
let service: RunningServiceProcess;
let ok: FlakyEndpoint;
let failing: FlakyEndpoint;
let failAll = true;

beforeAll(async () => {
  ok = await flakyEndpoint();
  failing = await flakyEndpoint(() => failAll);
  service = await ServiceProcess.start(environment);
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await ok?.close();
  await failing?.close();
  data.remove();
});

/** A raw request, so the test decides exactly which headers go out (repeated ones included). */
function rawRequest(lines: string[], body: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(service.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('end', () => resolve({ status: Number(answer.slice(9, 12)), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) }));
    socket.end(`${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

function postText(text: string): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  return fetch(`${service.baseUrl}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }).then(async (response) => ({
    status: response.status,
    json: (await response.json()) as { error?: { code: string; message: string } } & Record<string, unknown>,
  }));
}

describe('refused input', () => {
  it('answers 409 idempotency_key_reused to a key sent again with another payload or destination, and a duplicate to the same request', async () => {
    const destination = { transport: 'http', url: ok.url, headers: { 'X-Tenant': 'a', 'X-Region': 'eu' } };
    const first = await postJson(service.baseUrl, '/messages', { destination, payload: { order: 7, total: 10 }, idempotencyKey: 'reuse-1' });
    expect(first.status).toBe(202);
    // The same request with its fields in another order is the same request.
    const same = await postJson(service.baseUrl, '/messages', {
      payload: { total: 10, order: 7 },
      destination: { headers: { 'X-Region': 'eu', 'X-Tenant': 'a' }, url: ok.url, transport: 'http' },
      idempotencyKey: 'reuse-1',
    });
    expect(same).toEqual({ status: 202, json: { deliveryId: first.json.deliveryId, duplicate: true } });
    const otherPayload = await postJson(service.baseUrl, '/messages', { destination, payload: { order: 7, total: 11 } }, { 'Idempotency-Key': 'reuse-1' });
    expect(otherPayload.status).toBe(409);
    expect(otherPayload.json.error).toMatchObject({ code: 'idempotency_key_reused' });
    expect((otherPayload.json.error as { message: string }).message).toContain(`delivery ${String(first.json.deliveryId)}`);
    const otherHeaders = await postJson(service.baseUrl, '/messages', {
      destination: { ...destination, headers: { 'X-Tenant': 'b' } },
      payload: { order: 7, total: 10 },
      idempotencyKey: 'reuse-1',
    });
    expect(otherHeaders.status).toBe(409);
    await waitUntil('the first one is delivered', () => ok.accepted.some((body) => JSON.stringify(body) === '{"order":7,"total":10}'));
    // Only the first request's content went out (at-least-once may send it twice on a slow machine).
    expect(ok.accepted.filter((body) => (body as { order?: number }).order === 7).map((body) => JSON.stringify(body))).toEqual(expect.arrayContaining(['{"order":7,"total":10}']));
    expect(ok.accepted.filter((body) => (body as { order?: number }).order === 7).every((body) => JSON.stringify(body) === '{"order":7,"total":10}')).toBe(true);
  });

  it('refuses two Idempotency-Key headers (which Node would join into one key)', async () => {
    const body = JSON.stringify({ destination: { transport: 'http', url: ok.url }, payload: { twoKeys: true } });
    const answer = await rawRequest(['POST /messages HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Idempotency-Key: a', 'Idempotency-Key: b'], body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_idempotency_key' } });
    // One header whose value holds a comma is one key.
    const single = await rawRequest(['POST /messages HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Idempotency-Key: a, b'], body);
    expect(single.status).toBe(202);
  });

  it('refuses destination header values HTTP cannot carry, at submit', async () => {
    for (const value of ['bell\u0001', 'price in €']) {
      const answer = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: ok.url, headers: { 'X-Note': value } }, payload: {} });
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({ code: 'invalid_destination', message: expect.stringContaining('destination.headers.X-Note') });
    }
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH (64) with 400 json_too_deep, and takes 64 levels', async () => {
    const deep = await postText(`{"destination":{"transport":"http","url":"${ok.url}"},"payload":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(deep.status).toBe(400);
    expect(deep.json.error).toMatchObject({ code: 'json_too_deep', message: expect.stringContaining('64') });
    // The body object is level 1, so the payload may nest 63 levels.
    const deepest = await postText(`{"destination":{"transport":"http","url":"${ok.url}"},"payload":${'['.repeat(63)}${']'.repeat(63)}}`);
    expect(deepest.status).toBe(202);
    const oneMore = await postText(`{"destination":{"transport":"http","url":"${ok.url}"},"payload":${'['.repeat(64)}${']'.repeat(64)}}`);
    expect(oneMore.json.error?.code).toBe('json_too_deep');
  });

  it('refuses integers beyond 2^53-1 with 400 unsafe_integer instead of delivering them rounded', async () => {
    for (const literal of ['9007199254740993', '-9007199254740993', '123456789012345678901234567890']) {
      const answer = await postText(`{"destination":{"transport":"http","url":"${ok.url}"},"payload":{"id":${literal}}}`);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({ code: 'unsafe_integer', message: expect.stringContaining(literal) });
    }
    // The largest safe integer, digits inside strings, and numbers with a fraction or exponent go through.
    const fine = await postText(
      `{"destination":{"transport":"http","url":"${ok.url}"},"payload":{"max":9007199254740991,"min":-9007199254740991,"asText":"9007199254740993","quoted":"\\"9007199254740993","float":1.5e300}}`,
    );
    expect(fine.status).toBe(202);
    await waitUntil('it is delivered exactly', () => ok.accepted.some((body) => (body as { max?: number }).max === Number.MAX_SAFE_INTEGER));
    expect(ok.accepted.find((body) => (body as { max?: number }).max !== undefined)).toEqual({
      max: 9007199254740991,
      min: -9007199254740991,
      asText: '9007199254740993',
      quoted: '"9007199254740993',
      float: 1.5e300,
    });
  });
});

describe('operator routes', () => {
  it('pages /deliveries with after=<deliveryId> and limit (at most 10 000), and states the maximum when refusing', async () => {
    const ids: number[] = [];
    for (let n = 0; n < 5; n++)
      ids.push((await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: failing.url }, payload: { page: n } })).json.deliveryId as number);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await getJson(service.baseUrl, `/deliveries?limit=2&after=${after}`);
      expect(page.status).toBe(200);
      const deliveries = page.json.deliveries as { deliveryId: number }[];
      expect(deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...deliveries.map((d) => d.deliveryId));
      if (page.json.nextAfter === null) break;
      after = page.json.nextAfter as number;
    }
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const whole = await getJson(service.baseUrl, '/deliveries?limit=10000');
    expect(whole.json).toMatchObject({ count: seen.length, nextAfter: null });
    for (const limit of ['1000000000', '10001', '0']) {
      const refused = await getJson(service.baseUrl, `/deliveries?limit=${limit}`);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatchObject({ code: 'invalid_limit', message: expect.stringContaining('from 1 to 10000') });
    }
    expect((await getJson(service.baseUrl, '/deliveries?after=x')).json.error).toMatchObject({ code: 'invalid_after' });
    const deadLetters = await getJson(service.baseUrl, '/dead-letters?limit=10&after=0');
    expect(deadLetters).toEqual({ status: 200, json: { count: 0, deadLetters: [], nextAfter: null } });
    expect((await getJson(service.baseUrl, '/dead-letters?limit=20000')).json.error).toMatchObject({ code: 'invalid_limit', message: expect.stringContaining('10000') });
  });

  it('cancels an in-flight delivery with DELETE /deliveries/:id: persisted, status cancelled, never sent again, also after a restart', async () => {
    const destination = { transport: 'http', url: failing.url };
    const doomed = (await postJson(service.baseUrl, '/messages', { destination, payload: { cancel: 'me' } })).json.deliveryId as number;
    const kept = (await postJson(service.baseUrl, '/messages', { destination, payload: { cancel: 'not me' } })).json.deliveryId as number;
    await waitUntil('both were attempted', async () => ((await getJson(service.baseUrl, `/deliveries/${doomed}`)).json.attempts as number) >= 1);
    const cancelled = await call(service.baseUrl, 'DELETE', `/deliveries/${doomed}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: 'cancelled', deliveryId: doomed, attempts: expect.any(Number), cancelledAt: expect.stringMatching(/^\d{4}-/) });
    expect((await getJson(service.baseUrl, `/deliveries/${doomed}`)).json).toMatchObject({ status: 'cancelled' });
    // Retried: the same answer.
    expect((await call(service.baseUrl, 'DELETE', `/deliveries/${doomed}`)).status).toBe(200);

    // A restart (recovering from a snapshot: SNAPSHOT_EVERY is 3) does not bring it back.
    await service.stop('SIGTERM');
    service = await ServiceProcess.start(environment);
    expect(service.lines.some((line) => line.msg === 'outbox recovered; unconfirmed deliveries are being sent again')).toBe(true);
    expect((await getJson(service.baseUrl, `/deliveries/${doomed}`)).json).toMatchObject({ status: 'cancelled', deliveryId: doomed });
    failAll = false;
    await waitUntil('the other one is delivered', () => failing.accepted.some((body) => (body as { cancel?: string }).cancel === 'not me'));
    await waitUntil('it is confirmed', async () => (await getJson(service.baseUrl, `/deliveries/${kept}`)).json.status === 'confirmed');
    expect(failing.accepted.filter((body) => (body as { cancel?: string }).cancel === 'me')).toEqual([]);

    const confirmed = await call(service.baseUrl, 'DELETE', `/deliveries/${kept}`);
    expect(confirmed.status).toBe(409);
    expect(confirmed.json.error).toMatchObject({ code: 'delivery_not_in_flight', message: expect.stringContaining('confirmed') });
    const unknown = await call(service.baseUrl, 'DELETE', '/deliveries/999999');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'delivery_not_found' });
  });

  it('steadfast --version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'service/cli.ts', '--version'], { cwd: REPO_ROOT });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    expect(out).toBe(`${version}\n`);
  });
});
