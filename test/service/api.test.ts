/**
 * The HTTP API of the service (a child process on embedded defaults): answers, errors, idempotency,
 * dead letters and redrive, health and metrics. Refused requests must leave nothing in the journal.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from './support/exposition.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const data = tempDataDir('api');
let service: RunningServiceProcess;
let ok: FlakyEndpoint;
let failing = true;
let toggled: FlakyEndpoint;

beforeAll(async () => {
  ok = await flakyEndpoint();
  toggled = await flakyEndpoint(() => failing);
  service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    REDELIVER_INTERVAL_MS: '300',
    REDELIVERY_MAX_INTERVAL_MS: '400',
    DEAD_LETTER_AFTER_ATTEMPTS: '3',
    MAX_BODY_BYTES: '65536',
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await ok?.close();
  await toggled?.close();
  data.remove();
});

async function metricValue(name: string): Promise<number> {
  const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`metric ${name} missing`);
  return Number(match[1]);
}

/** Sends raw bytes, so size and framing are under the test's control (fetch would fix them). */
function rawPost(
  path: string,
  headers: Record<string, string | number>,
  body: Buffer | undefined,
  chunked = false,
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${service.baseUrl}${path}`, { method: 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code: string; message: string } } }),
      );
    });
    request.on('error', reject);
    if (body && chunked) {
      for (let offset = 0; offset < body.length; offset += 16_384) request.write(body.subarray(offset, offset + 16_384));
      request.end();
    } else request.end(body);
  });
}

describe('POST /messages', () => {
  it('answers 202 with the delivery id once persisted, and delivers with the idempotency header', async () => {
    const { status, json } = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: ok.url }, payload: { hello: 'world' } });
    expect(status).toBe(202);
    expect(json).toMatchObject({ deliveryId: expect.any(Number), duplicate: false });
    await waitUntil('the endpoint got it', () => ok.accepted.some((b) => JSON.stringify(b) === '{"hello":"world"}'));
    const index = ok.accepted.findIndex((b) => JSON.stringify(b) === '{"hello":"world"}');
    expect(ok.headers[index]!['idempotency-key']).toMatch(new RegExp(`^outbox@[\\w-]{16}:${String(json.deliveryId)}$`));
    await waitUntil('it is confirmed', async () => (await getJson(service.baseUrl, `/deliveries/${String(json.deliveryId)}`)).json.status === 'confirmed');
  });

  it('returns the same id for the same idempotency key (field or header), without sending twice', async () => {
    const message = { destination: { transport: 'http', url: ok.url }, payload: { order: 'k-1' } };
    const first = await postJson(service.baseUrl, '/messages', { ...message, idempotencyKey: 'order-k-1' });
    const again = await postJson(service.baseUrl, '/messages', message, { 'Idempotency-Key': 'order-k-1' });
    const both = await postJson(service.baseUrl, '/messages', { ...message, idempotencyKey: 'order-k-1' }, { 'Idempotency-Key': 'order-k-1' });
    expect(first).toMatchObject({ status: 202, json: { duplicate: false } });
    expect(again).toMatchObject({ status: 202, json: { deliveryId: first.json.deliveryId, duplicate: true } });
    expect(both.json.deliveryId).toBe(first.json.deliveryId);
    await waitUntil('delivered', () => ok.accepted.some((b) => (b as { order?: string }).order === 'k-1'));
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => postJson(service.baseUrl, '/messages', { ...message, payload: { order: 'k-2' }, idempotencyKey: 'order-k-2' })),
    );
    expect(new Set(concurrent.map((r) => r.json.deliveryId)).size).toBe(1);
    expect(concurrent.filter((r) => r.json.duplicate === false)).toHaveLength(1);
  });

  it('refuses bad requests with a 4xx JSON error that says what is wrong, and persists none of them', async () => {
    const acceptedBefore = await metricValue('steadfast_messages_accepted_total');
    const destination = { transport: 'http', url: ok.url };
    const cases: [unknown, Record<string, string>, number, string, RegExp][] = [
      [[1, 2], {}, 400, 'invalid_request', /JSON object/],
      [{ destination, payload: 1, extra: true }, {}, 400, 'invalid_request', /unknown field "extra"/],
      [{ payload: 1 }, {}, 400, 'invalid_destination', /destination must be an object/],
      [{ destination: 'http://x', payload: 1 }, {}, 400, 'invalid_destination', /destination must be an object/],
      [{ destination }, {}, 400, 'invalid_request', /payload is required/],
      [{ destination: { transport: 'http', url: 'nope' }, payload: 1 }, {}, 400, 'invalid_destination', /destination\.url/],
      [{ destination: { transport: 'http', url: ok.url, method: 'DELETE' }, payload: 1 }, {}, 400, 'invalid_destination', /destination\.method/],
      [{ destination: { transport: 'amqp', queue: 'q' }, payload: 1 }, {}, 400, 'unknown_transport', /amqp.*AMQP_URL/],
      [{ destination, payload: 1, idempotencyKey: '' }, {}, 400, 'invalid_idempotency_key', /non-empty/],
      [{ destination, payload: 1, idempotencyKey: 'a' }, { 'Idempotency-Key': 'b' }, 400, 'invalid_idempotency_key', /differ/],
    ];
    for (const [body, headers, status, code, message] of cases) {
      const response = await postJson(service.baseUrl, '/messages', body, headers);
      expect({ body, status: response.status }).toEqual({ body, status });
      const error = response.json.error as { code: string; message: string };
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    }
    const notJson = await rawPost('/messages', { 'content-type': 'application/json' }, Buffer.from('{"destination":'));
    expect(notJson).toMatchObject({ status: 400, json: { error: { code: 'invalid_json' } } });
    expect(notJson.json.error!.message).toMatch(/not valid JSON/);
    expect(await metricValue('steadfast_messages_accepted_total')).toBe(acceptedBefore);
  });

  it('answers 415 to a body that is not JSON, and 413 to one over MAX_BODY_BYTES', async () => {
    const acceptedBefore = await metricValue('steadfast_messages_accepted_total');
    const text = await rawPost('/messages', { 'content-type': 'text/plain' }, Buffer.from('hello'));
    expect(text).toMatchObject({ status: 415, json: { error: { code: 'unsupported_media_type' } } });
    expect(text.json.error!.message).toMatch(/application\/json.*text\/plain/);
    const missing = await rawPost('/messages', {}, Buffer.from('{}'));
    expect(missing.status).toBe(415);

    const big = Buffer.from(JSON.stringify({ destination: { transport: 'http', url: ok.url }, payload: 'x'.repeat(100_000) }));
    const declared = await rawPost('/messages', { 'content-type': 'application/json', 'content-length': big.length }, big);
    expect(declared).toMatchObject({ status: 413, json: { error: { code: 'payload_too_large' } } });
    expect(declared.json.error!.message).toMatch(/65536 bytes/);
    const streamed = await rawPost('/messages', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big, true);
    expect(streamed.status).toBe(413);
    expect(await metricValue('steadfast_messages_accepted_total')).toBe(acceptedBefore);
  });
});

describe('routes', () => {
  it('answers 404 to unknown routes and 405 to wrong methods, as JSON', async () => {
    const unknown = await getJson(service.baseUrl, '/nope');
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    const wrongMethod = await fetch(`${service.baseUrl}/messages`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await getJson(service.baseUrl, '/deliveries/abc')).toMatchObject({ status: 400, json: { error: { code: 'invalid_delivery_id' } } });
    expect(await getJson(service.baseUrl, '/deliveries/999999')).toMatchObject({ status: 404, json: { error: { code: 'delivery_not_found' } } });
    expect(await postJson(service.baseUrl, '/dead-letters/999999/redrive', {})).toMatchObject({ status: 404, json: { error: { code: 'not_dead_lettered' } } });
  });

  it('lists in-flight deliveries with attempts and last error, dead-letters them after DEAD_LETTER_AFTER_ATTEMPTS, and redrives one or all', async () => {
    failing = true;
    const destination = { transport: 'http', url: toggled.url };
    const first = await postJson(service.baseUrl, '/messages', { destination, payload: { dead: 1 } });
    const id = first.json.deliveryId as number;
    let listed: Record<string, unknown> | undefined;
    await waitUntil(
      'the delivery is listed in flight with its error',
      async () => {
        const { json } = await getJson(service.baseUrl, '/deliveries');
        listed = (json.deliveries as Record<string, unknown>[]).find((d) => d.deliveryId === id);
        return typeof listed?.lastError === 'string';
      },
      10_000,
      20,
    );
    expect(listed).toMatchObject({ destination, payload: { dead: 1 }, attempts: expect.any(Number), firstAttemptAt: expect.stringMatching(/^\d{4}-/) });
    expect(listed!.lastError).toMatch(/answered 500/);

    await waitUntil('dead-lettered', async () => (await getJson(service.baseUrl, `/deliveries/${id}`)).json.status === 'dead-lettered', 15_000);
    const status = await getJson(service.baseUrl, `/deliveries/${id}`);
    expect(status.json).toMatchObject({ attempts: 3, reason: expect.stringMatching(/answered 500/) });
    const deadLetters = await getJson(service.baseUrl, '/dead-letters');
    expect((deadLetters.json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId)).toContain(id);

    failing = false;
    const redriven = await postJson(service.baseUrl, `/dead-letters/${id}/redrive`, {});
    expect(redriven).toEqual({ status: 200, json: { redriven: [id] } });
    await waitUntil('the redriven message arrived', () => toggled.accepted.some((b) => (b as { dead?: number }).dead === 1));

    failing = true;
    const more = await Promise.all([2, 3].map((n) => postJson(service.baseUrl, '/messages', { destination, payload: { dead: n } })));
    const moreIds = more.map((r) => r.json.deliveryId as number);
    await waitUntil(
      'both dead-lettered',
      async () => {
        const { json } = await getJson(service.baseUrl, '/dead-letters');
        const ids = (json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId);
        return moreIds.every((m) => ids.includes(m));
      },
      15_000,
    );
    // Paged by delivery id: one at a time, the cursor leading from the first to the second.
    const sorted = [...moreIds].sort((a, b) => a - b);
    const firstPage = await getJson(service.baseUrl, `/dead-letters?limit=1&after=${sorted[0]! - 1}`);
    expect((firstPage.json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId)).toEqual([sorted[0]]);
    expect(firstPage.json.nextAfter).toBe(sorted[0]);
    const secondPage = await getJson(service.baseUrl, `/dead-letters?limit=1&after=${String(firstPage.json.nextAfter)}`);
    expect((secondPage.json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId)).toEqual([sorted[1]]);
    failing = false;
    const all = await fetch(`${service.baseUrl}/dead-letters/redrive`, { method: 'POST' });
    expect(all.status).toBe(200);
    expect(((await all.json()) as { redriven: number[] }).redriven.sort()).toEqual(moreIds.sort());
    await waitUntil('both arrived', () => [2, 3].every((n) => toggled.accepted.some((b) => (b as { dead?: number }).dead === n)));
    await waitUntil('no dead letters left', async () => (await getJson(service.baseUrl, '/dead-letters')).json.count === 0);
  });

  it('reports health', async () => {
    expect(await getJson(service.baseUrl, '/healthz')).toEqual({
      status: 200,
      json: { status: 'ok', role: 'active', checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: true, reason: 'running' } } },
    });
  });

  it('exposes Prometheus metrics in the text format', async () => {
    const response = await fetch(`${service.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text.endsWith('\n')).toBe(true);
    // Strict: names, labels, values, one TYPE before its samples, histograms cumulative up to +Inf = count.
    const families = parseExposition(text);
    for (const family of families.values()) expect(family.type, family.name).not.toBe('untyped');
    for (const name of [
      'steadfast_messages_accepted_total',
      'steadfast_deliveries_sent_total',
      'steadfast_deliveries_confirmed_total',
      'steadfast_deliveries_redelivered_total',
      'steadfast_deliveries_dead_lettered',
      'steadfast_deliveries_in_flight',
      'steadfast_confirmations_rejected_total',
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    expect(families.get('steadfast_journal_write_duration_seconds')?.type).toBe('histogram');
    // The process and Node.js metrics operators expect next to steadfast's own.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(families.has(name), name).toBe(true);
    }
    // SQLite: one process per store, so always the active one.
    expect(text).toMatch(/^steadfast_role\{role="active"\} 1$/m);
    expect(text).toMatch(/^steadfast_role\{role="standby"\} 0$/m);
    const buckets = [...text.matchAll(/^steadfast_journal_write_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    const count = Number(/^steadfast_journal_write_duration_seconds_count (\d+)$/m.exec(text)![1]);
    expect(buckets.at(-1)).toBe(count);
    expect(count).toBeGreaterThanOrEqual(5);
    expect(await metricValue('steadfast_deliveries_redelivered_total')).toBeGreaterThan(0);
    expect(await metricValue('steadfast_confirmations_rejected_total')).toBe(0);
    expect(text).toMatch(/^steadfast_http_requests_total\{route="POST \/messages",status="202"\} \d+$/m);
  });
});
