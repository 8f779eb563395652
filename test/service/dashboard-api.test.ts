/**
 * What the dashboard asks of the API, over HTTP: `GET /deliveries` filtered by status and destination
 * (validated; matched on the redacted destination, so no secret can be guessed through it; counted and
 * paged among the matches), each delivery's state and next attempt; `GET /events` as server-sent
 * events, at most 32 at once; the page with a policy that loads nothing from elsewhere.
 */
import { get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call } from './support/requests.js';
import { tempDataDir } from './support/service-process.js';
import { switchEndpoint, type SwitchEndpoint } from './support/switch-endpoint.js';

const data = tempDataDir('dashboard-api');
let node: InProcessService;
let endpoint: SwitchEndpoint;
let failing: number;
let held: number;

beforeAll(async () => {
  endpoint = await switchEndpoint();
  node = await startInProcess({ DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '2000', REDELIVERY_MAX_INTERVAL_MS: '4000', HTTP_TIMEOUT_MS: '60000' });
  endpoint.set('refuse', 'refuse');
  endpoint.set('hold', 'hold');
  const submit = async (url: string, mode: string) =>
    (await call(node.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url }, payload: { mode } } })).json.deliveryId as number;
  failing = await submit(`${endpoint.url}/orders?token=s3cret-value`, 'refuse');
  held = await submit(`${endpoint.url}/invoices`, 'hold');
  await waitUntil('both were attempted', () => endpoint.requests('refuse') > 0 && endpoint.requests('hold') > 0, 10_000, 20);
  await waitUntil('the refusal is recorded', async () => (await list('')).deliveries.some((d) => d.state === 'failing'), 10_000, 50);
});
afterAll(async () => {
  await node?.stop();
  await endpoint?.close();
  data.remove();
});

interface Listed {
  count: number;
  deliveries: { deliveryId: number; state: string; nextAttemptAt: string | null; lastError: string | null }[];
  nextAfter: number | null;
}

async function list(query: string): Promise<Listed> {
  const answer = await call(node.baseUrl, 'GET', `/deliveries${query}`);
  expect(answer.status, answer.text).toBe(200);
  return answer.json as unknown as Listed;
}

describe('GET /deliveries filters', () => {
  it('shows each delivery with its state and the time of its next attempt', async () => {
    const page = await list('');
    const refused = page.deliveries.find((d) => d.deliveryId === failing)!;
    expect(refused).toMatchObject({ state: 'failing', lastError: expect.stringMatching(/500/) });
    expect(Date.parse(refused.nextAttemptAt!)).toBeGreaterThan(Date.now() - 5000);
    expect(page.deliveries.find((d) => d.deliveryId === held)).toMatchObject({ state: 'sent', lastError: null });
  });

  it('filters by status (one or several) and counts the matches', async () => {
    expect(await list('?status=failing')).toMatchObject({ count: 1, deliveries: [{ deliveryId: failing }], nextAfter: null });
    expect(await list('?status=sent')).toMatchObject({ count: 1, deliveries: [{ deliveryId: held }] });
    expect((await list('?status=sent,failing')).count).toBe(2);
    expect((await list('?status=waiting,exhausted')).count).toBe(0);
  });

  it('filters by a part of the destination as shown, ignoring case; a redacted secret matches nothing', async () => {
    expect(await list('?destination=INVOICES')).toMatchObject({ count: 1, deliveries: [{ deliveryId: held }] });
    expect(await list('?destination=%2Forders')).toMatchObject({ count: 1, deliveries: [{ deliveryId: failing }] });
    expect((await list('?destination=s3cret')).count).toBe(0);
    expect((await list('?destination=127.0.0.1&status=failing')).count).toBe(1);
  });

  it('pages among the matches', async () => {
    const first = await list('?destination=127.0.0.1&limit=1');
    expect(first).toMatchObject({ count: 2, deliveries: [{ deliveryId: failing }], nextAfter: failing });
    expect(await list(`?destination=127.0.0.1&limit=1&after=${failing}`)).toMatchObject({ count: 2, deliveries: [{ deliveryId: held }], nextAfter: null });
  });

  it('refuses filters it cannot apply, with a code per parameter', async () => {
    for (const [query, code] of [
      ['?status=done', 'invalid_status'],
      ['?status=', 'invalid_status'],
      ['?status=failing,', 'invalid_status'],
      ['?destination=', 'invalid_destination_filter'],
      [`?destination=${'x'.repeat(201)}`, 'invalid_destination_filter'],
    ]) {
      const answer = await call(node.baseUrl, 'GET', `/deliveries${query}`);
      expect([answer.status, answer.json.error?.code], query).toEqual([400, code]);
    }
    const dead = await call(node.baseUrl, 'GET', '/dead-letters?status=failing');
    expect([dead.status, dead.json.error?.code]).toEqual([400, 'invalid_status']);
    expect((await call(node.baseUrl, 'GET', '/dead-letters?destination=orders')).json).toMatchObject({ count: 0 });
  });
});

describe('GET / and GET /events', () => {
  it('serves the page with a policy that allows nothing from elsewhere', async () => {
    const page = await call(node.baseUrl, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const asset of ['/dashboard.js', '/dashboard.css']) expect((await call(node.baseUrl, 'GET', asset)).status).toBe(200);
  });

  it('streams snapshots with health, role, figures and rates, and refuses the 33rd stream', async () => {
    const streams: IncomingMessage[] = [];
    const open = () => new Promise<IncomingMessage>((resolve) => get(`${node.baseUrl}/events`, resolve));
    try {
      const first = await open();
      streams.push(first);
      expect(first.statusCode).toBe(200);
      expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      const snapshot = await new Promise<Record<string, unknown>>((resolve) => {
        let text = '';
        first.setEncoding('utf8');
        first.on('data', (chunk: string) => {
          text += chunk;
          const match = /event: snapshot\ndata: (.*)\n\n/.exec(text);
          if (match) resolve(JSON.parse(match[1]!) as Record<string, unknown>);
        });
      });
      expect(snapshot).toMatchObject({
        role: 'active',
        health: { status: 'ok', checks: { journal: { ok: true } } },
        stats: { accepted: 2, inFlight: 2, failed: expect.any(Number) },
        rates: expect.any(Array),
        rateIntervalMs: 2000,
      });
      for (let i = 1; i < 32; i++) streams.push(await open());
      expect(streams.map((stream) => stream.statusCode)).toEqual(Array(32).fill(200));
      const refused = await call(node.baseUrl, 'GET', '/events');
      expect([refused.status, refused.json.error?.code, refused.headers['retry-after']]).toEqual([503, 'too_many_event_clients', '10']);
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it('ends open streams when the service shuts down, instead of holding the shutdown', async () => {
    const stream = await new Promise<IncomingMessage>((resolve) => get(`${node.baseUrl}/events`, resolve));
    const ended = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    stream.resume();
    const started = Date.now();
    await node.stop();
    await ended;
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
