import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, Outbox, inMemoryJournal, inMemorySnapshotStore, type OutboundDelivery, type TransportContext } from '../../../src/index.js';
import { httpDestination, httpTransport, HttpStatusError, HttpTimeoutError, HttpNetworkError, HttpTransportClosedError, type HttpTransport } from '../../../delivery/http/index.js';

const silent = pino({ level: 'silent' });

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  readonly body: unknown;
}

type Responder = (request: Received, response: ServerResponse) => void;

async function startServer(respond: Responder): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
      };
      received.push(entry);
      respond(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hook`, received };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(server: Server): void {
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
}

async function started(transport: HttpTransport): Promise<{ confirmed: [string, number][] }> {
  const confirmed: [string, number][] = [];
  const context: TransportContext = { confirm: (senderId, deliveryId) => confirmed.push([senderId, deliveryId]), confirmReceived: () => {}, logger: silent };
  await transport.start(context);
  cleanups.push(() => transport.close());
  return { confirmed };
}

const delivery = (deliveryId: number, attempt = 1): OutboundDelivery => ({ senderId: 'orders', deliveryId, message: { order: deliveryId }, attempt });

describe('httpTransport', () => {
  it('POSTs the message as JSON with sender, delivery id, attempt and idempotency headers; a 2xx confirms', async () => {
    const { server, url, received } = await startServer((_, response) => response.writeHead(204).end());
    track(server);
    const transport = httpTransport();
    const { confirmed } = await started(transport);
    await transport.send(httpDestination(url, { headers: { Authorization: 'Bearer t' } }), delivery(7, 2));
    expect(confirmed).toEqual([['orders', 7]]);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hook');
    expect(request!.body).toEqual({ order: 7 });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-steadfast-sender']).toBe('orders');
    expect(request!.headers['x-steadfast-delivery-id']).toBe('7');
    expect(request!.headers['x-steadfast-attempt']).toBe('2');
    expect(request!.headers['idempotency-key']).toBe('orders:7');
    expect(request!.headers.authorization).toBe('Bearer t');
  });

  it("sends its User-Agent once whatever the destination's headers say, the URL's query, and its credentials as Basic authorization unless a header gives one", async () => {
    const { server, url, received } = await startServer((_, response) => response.writeHead(200).end());
    track(server);
    const transport = httpTransport({ userAgent: 'billing/2' });
    await started(transport);
    const withCredentials = url.replace('http://', 'http://us%40er:p%3Aw@');
    await transport.send(httpDestination(`${withCredentials}?a=1&b=2`, { headers: { 'user-agent': 'other', 'X-Trace': 'abc' } }), delivery(1));
    await transport.send(httpDestination(withCredentials, { headers: { Authorization: 'Bearer t' } }), delivery(2));
    const [first, second] = received;
    expect(first!.url).toBe('/hook?a=1&b=2');
    expect(first!.rawHeaders.filter((_, i) => i % 2 === 0 && first!.rawHeaders[i]!.toLowerCase() === 'user-agent')).toHaveLength(1);
    expect(first!.headers['user-agent']).toBe('billing/2');
    expect(first!.headers['x-trace']).toBe('abc');
    expect(first!.headers.authorization).toBe(`Basic ${Buffer.from('us@er:p:w').toString('base64')}`);
    expect(second!.headers.authorization).toBe('Bearer t');
  });

  it('uses the destination method', async () => {
    const { server, url, received } = await startServer((_, response) => response.writeHead(200).end('ok'));
    track(server);
    const transport = httpTransport();
    await started(transport);
    await transport.send(httpDestination(url, { method: 'PUT' }), delivery(1));
    expect(received[0]!.method).toBe('PUT');
  });

  it('rejects on a non-2xx answer without confirming', async () => {
    const { server, url } = await startServer((_, response) => response.writeHead(500).end('boom'));
    track(server);
    const transport = httpTransport();
    const { confirmed } = await started(transport);
    const error = await transport.send(httpDestination(url), delivery(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).code).toBe('ERR_HTTP_STATUS');
    expect((error as HttpStatusError).status).toBe(500);
    expect((error as Error).message).toContain('answered 500');
    expect(confirmed).toEqual([]);
  });

  it('rejects with a timeout when the endpoint does not answer in time', async () => {
    const { server, url } = await startServer(() => {
      /* never answers */
    });
    track(server);
    const transport = httpTransport({ timeoutMs: 200 });
    const { confirmed } = await started(transport);
    const before = performance.now();
    const error = await transport.send(httpDestination(url), delivery(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    // After timeoutMs (200), not the 10 s default: seconds of margin for scheduling.
    expect(performance.now() - before).toBeLessThan(5000);
    expect(confirmed).toEqual([]);
  });

  it('rejects with a network error when nothing listens', async () => {
    const { server, url } = await startServer((_, response) => response.end());
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const transport = httpTransport({ timeoutMs: 2000 });
    await started(transport);
    const error = await transport.send(httpDestination(url), delivery(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpNetworkError);
    expect((error as HttpNetworkError).code).toBe('ERR_HTTP_NETWORK');
  });

  it('keeps at most maxConcurrency requests in flight, and a send waiting for a slot times out instead of hanging', async () => {
    const held: ServerResponse[] = [];
    const { server, url, received } = await startServer((_, response) => {
      held.push(response);
    });
    track(server);
    // The timeout is long against what is checked while it runs (three requests arriving, then a quiet
    // 150 ms): near the timeout, a freed slot may let a waiting send through, which is fine but not what
    // this looks at.
    const timeoutMs = 2000;
    const transport = httpTransport({ maxConcurrency: 3, timeoutMs });
    await started(transport);
    const before = performance.now();
    const sends = Array.from({ length: 8 }, (_, i) =>
      transport.send(httpDestination(url), delivery(i + 1)).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    // While the first three hang, the other five wait for a slot: the endpoint sees exactly three.
    while (received.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(received).toHaveLength(3);
    expect(transport.activeRequests).toBe(3);
    const outcomes = await Promise.all(sends);
    // Every send, the waiting ones included, ends at about its timeout (counted from send(), the wait for
    // a slot included) instead of hanging.
    expect(performance.now() - before).toBeLessThan(timeoutMs * 1.75);
    expect(outcomes.every((outcome) => outcome instanceof HttpTimeoutError)).toBe(true);
    for (const response of held) response.destroy();
    expect(transport.activeRequests).toBe(0);
  });

  it('close() rejects running sends', async () => {
    const { server, url, received } = await startServer(() => {});
    track(server);
    const transport = httpTransport({ timeoutMs: 10_000 });
    await started(transport);
    const pending = transport.send(httpDestination(url), delivery(1)).catch((e: unknown) => e);
    // Running: the endpoint has the request (and never answers it).
    while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await transport.close();
    expect(await pending).toBeInstanceOf(HttpTransportClosedError);
    await expect(transport.send(httpDestination(url), delivery(2))).rejects.toBeInstanceOf(HttpTransportClosedError);
  });

  it('validates destinations, naming the field', () => {
    const transport = httpTransport();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ url: 'not a url' }, /destination\.url is not a valid URL/],
      [{ url: 'ftp://x/y' }, /http: or https:/],
      [{ url: 'http://x/', method: 'GET' }, /destination\.method/],
      [{ url: 'http://x/', headers: { 'Idempotency-Key': 'x' } }, /set by the transport/],
      [{ url: 'http://x/', headers: { 'X-Steadfast-Sender': 'x' } }, /set by the transport/],
      [{ url: 'http://x/', headers: { ok: 'a\r\nb' } }, /visible ASCII.*U\+000D/],
      [{ url: 'http://x/', headers: { ok: 'a\u0001b' } }, /visible ASCII.*U\+0001/],
      [{ url: 'http://x/', headers: { ok: 'price in €' } }, /visible ASCII.*U\+20AC/],
      [{ url: 'http://x/', headers: { ok: 'caf\u00e9' } }, /visible ASCII.*U\+00E9/],
      [{ url: 'http://x/', headers: { 'X-Tenant': 'a', 'x-tenant': 'b' } }, /"x-tenant" twice/],
      [{ url: 'http://x/', path: '/y' }, /destination\.path is not a field/],
      [{ url: 'http://x/', headers: { ok: 1 } }, /destination\.headers\.ok must be a string/],
      [{ url: 'http://x/', method: 5 }, /destination\.method/],
      [{ url: 'http://x/', path: undefined }, /destination\.path is not a field/],
      [{ url: 'http://x/', transport: 'amqp' }, /transport must be 'http'/],
    ];
    // Resolved destinations are remembered: one that differs from a good one only in a bad field is still refused.
    expect(() => transport.validateDestination({ transport: 'http', url: 'http://x/' })).not.toThrow();
    for (let pass = 0; pass < 2; pass++) {
      for (const [fields, message] of bad) {
        expect(() => transport.validateDestination({ transport: 'http', ...(fields as Record<string, string>) })).toThrow(message);
      }
    }
    // What is accepted is what Node can send: visible ASCII, spaces and tabs.
    expect(() => transport.validateDestination({ transport: 'http', url: 'http://x/', headers: { 'X-Note': 'a b\tc ~!' } } as never)).not.toThrow();
    expect(() => httpTransport({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => httpTransport({ maxConcurrency: 1.5 })).toThrow(/maxConcurrency/);
  });
});

describe('httpTransport with the outbox', () => {
  it('redelivers after 500s and timeouts until a 2xx confirms every delivery', async () => {
    const attemptsById = new Map<number, number>();
    const { server, url, received } = await startServer((request, response) => {
      const id = Number(request.headers['x-steadfast-delivery-id']);
      const attempt = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, attempt);
      if (attempt === 1) response.writeHead(500).end();
      else if (attempt === 2) {
        /* no answer: the transport times out */
      } else response.writeHead(200).end();
    });
    track(server);
    const system = ActorSystem.create('http-outbox', {
      journal: inMemoryJournal({ logger: silent }),
      snapshotStore: inMemorySnapshotStore(),
      logger: silent,
      transports: [httpTransport({ timeoutMs: 150 })],
    });
    cleanups.push(() => system.terminate());
    const outbox = Outbox.start(system, { redeliverInterval: 50, redeliveryBackoff: { maxInterval: 200 } });
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push((await outbox.send(httpDestination(url), { n: i })).deliveryId);
    const deadline = Date.now() + 20_000;
    while ((await outbox.stats()).confirmed < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const stats = await outbox.stats();
    expect(stats.confirmed).toBe(10);
    expect(stats.inFlight).toBe(0);
    expect(stats.redelivered).toBeGreaterThanOrEqual(20);
    for (const id of ids) expect(attemptsById.get(id)).toBeGreaterThanOrEqual(3);
    // The same idempotency key on every attempt of one delivery.
    const keys = new Set(received.filter((r) => r.headers['x-steadfast-delivery-id'] === '1').map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^outbox@[\w-]{16}:1$/);
  });

  it('records the last error of an in-flight delivery', async () => {
    const { server, url } = await startServer((_, response) => response.writeHead(503).end());
    track(server);
    const system = ActorSystem.create('http-errors', {
      journal: inMemoryJournal({ logger: silent }),
      snapshotStore: inMemorySnapshotStore(),
      logger: silent,
      transports: [httpTransport()],
    });
    cleanups.push(() => system.terminate());
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    const { deliveryId } = await outbox.send(httpDestination(url), { n: 1 });
    const deadline = Date.now() + 5000;
    let status = await outbox.status(deliveryId);
    while (!(status.status === 'in-flight' && status.lastError) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await outbox.status(deliveryId);
    }
    expect(status).toMatchObject({ status: 'in-flight', attempts: 1 });
    expect(status.status === 'in-flight' && status.lastError).toContain('answered 503');
  });
});
