/**
 * Secrets of destinations (URL credentials, secret query parameters, credential headers) and of
 * settings never appear in API answers or log lines, while the destination receives the real values.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/requests.js';
import { ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const SECRETS = ['pw-q8Zr', 'tok-v3Xy', 'Bearer-s3cret-77', 'k-key-91', 'sess-c00k', 'user-u5'];
const data = tempDataDir('redaction');
let service: RunningServiceProcess;
let server: Server;
let port: number;
const received: { url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  // Answers 500 to everything: deliveries stay in flight (with a last error), then are dead-lettered.
  server = createServer((request, response) => {
    received.push({ url: request.url ?? '', headers: request.headers });
    request.resume();
    request.on('end', () => response.writeHead(500).end('no'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    LOG_LEVEL: 'debug',
    REDELIVER_INTERVAL_MS: '200',
    REDELIVERY_MAX_INTERVAL_MS: '300',
    DEAD_LETTER_AFTER_ATTEMPTS: '3',
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  data.remove();
});

function expectNoSecret(what: string, text: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${what} shows ${secret}: ${text}`).toBe(false);
}

describe('redaction', () => {
  it('shows destinations and errors without secrets in /deliveries, /deliveries/:id, /dead-letters and the log, while the sink gets the real values', async () => {
    const destination = {
      transport: 'http',
      url: `http://user-u5:pw-q8Zr@127.0.0.1:${port}/hook?token=tok-v3Xy&x=1`,
      headers: { Authorization: 'Bearer Bearer-s3cret-77', 'X-Api-Key': 'k-key-91', Cookie: 'session=sess-c00k', 'X-Trace': 'visible' },
    };
    const accepted = await call(service.baseUrl, 'POST', '/messages', { body: { destination, payload: { n: 1 } } });
    expect(accepted.status).toBe(202);
    const id = accepted.json.deliveryId as number;

    let listed: Record<string, unknown> | undefined;
    await waitUntil(
      'in flight with a last error',
      async () => {
        const answer = await call(service.baseUrl, 'GET', '/deliveries');
        listed = (answer.json.deliveries as Record<string, unknown>[]).find((d) => d.deliveryId === id);
        return typeof listed?.lastError === 'string';
      },
      10_000,
      20,
    );
    expect(listed!.destination).toEqual({
      transport: 'http',
      url: `http://***:***@127.0.0.1:${port}/hook?token=***&x=1`,
      headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]', Cookie: '[redacted]', 'X-Trace': 'visible' },
    });
    expect(listed!.lastError).toMatch(/answered 500/);
    expectNoSecret('GET /deliveries', (await call(service.baseUrl, 'GET', '/deliveries')).text);
    const inFlight = await call(service.baseUrl, 'GET', `/deliveries/${id}`);
    if (inFlight.json.status === 'in-flight') expectNoSecret('GET /deliveries/:id (in flight)', inFlight.text);

    await waitUntil('dead-lettered', async () => (await call(service.baseUrl, 'GET', `/deliveries/${id}`)).json.status === 'dead-lettered', 15_000);
    const status = await call(service.baseUrl, 'GET', `/deliveries/${id}`);
    expect(status.json.destination).toEqual(listed!.destination);
    expectNoSecret('GET /deliveries/:id', status.text);
    const deadLetters = await call(service.baseUrl, 'GET', '/dead-letters');
    expect((deadLetters.json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId)).toContain(id);
    expectNoSecret('GET /dead-letters', deadLetters.text);

    // What was sent: the real values.
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(received[0]!.url).toBe('/hook?token=tok-v3Xy&x=1');
    expect(received[0]!.headers).toMatchObject({ authorization: 'Bearer Bearer-s3cret-77', 'x-api-key': 'k-key-91', cookie: 'session=sess-c00k' });

    // Errors that echo a destination.
    const invalid = await call(service.baseUrl, 'POST', '/messages', {
      body: { destination: { transport: 'http', url: 'http://user-u5:pw-q8Zr@[nope/?token=tok-v3Xy' }, payload: 1 },
    });
    expect(invalid.status).toBe(400);
    expectNoSecret('an invalid_destination error', invalid.text);
    const scheme = await call(service.baseUrl, 'POST', '/messages', {
      body: { destination: { transport: 'http', url: 'ftp://user-u5:pw-q8Zr@host/?token=tok-v3Xy' }, payload: 1 },
    });
    expect(scheme.json.error?.code).toBe('destination_not_allowed');
    expectNoSecret('a destination_not_allowed error', scheme.text);

    // The log (at debug): the delivering actor's warning, with the destination and the error, was written.
    const warning = service.lines.find((line) => /sending a delivery failed/.test(line.msg));
    expect(warning?.destination).toMatch(/^http:\{"url":"http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1/);
    expect(JSON.stringify(warning?.err)).toMatch(/answered 500/);
    expectNoSecret('the log', JSON.stringify(service.lines) + service.otherOutput.join('\n') + service.stderr);
  });

  it('does not log PG_URL passwords given as a query parameter', async () => {
    const child = ServiceProcess.spawn({ PORT: '0', DATA_DIR: data.dir, PG_URL: 'postgres://app@127.0.0.1:1/none?password=pgpass-Zx9&sslmode=disable' });
    expect((await child.exited).code).toBe(1);
    const output = JSON.stringify(child.lines) + child.stderr;
    expect(output).not.toContain('pgpass-Zx9');
    expect(child.lines[0]!.config).toMatchObject({ pgUrl: 'postgres://app@127.0.0.1:1/none?password=***&sslmode=disable' });
  });
});

describe('the service logger', () => {
  it('redacts secrets in logged objects, messages, errors and bindings', async () => {
    const { default: pino } = await import('pino');
    const { Writable } = await import('node:stream');
    const { redactingLoggerOptions } = await import('../../service/redaction.js');
    const lines: string[] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'debug', ...redactingLoggerOptions }, stream).child({ target: 'https://user-u5:pw-q8Zr@h/x' });
    logger.info(
      { destination: { transport: 'http', url: 'https://h/?token=tok-v3Xy', headers: { 'X-Api-Key': 'k-key-91', Accept: 'a' } }, password: 'pw-q8Zr' },
      'sending to https://h/?token=tok-v3Xy',
    );
    logger.warn({ err: new Error('failed: POST https://user-u5:pw-q8Zr@h/ with Bearer Bearer-s3cret-77') }, 'attempt failed');
    const text = lines.join('');
    expectNoSecret('the logger output', text);
    const first = JSON.parse(lines[0]!) as { destination: { headers: Record<string, string>; url: string }; password: string; msg: string };
    expect(first.destination.headers).toEqual({ 'X-Api-Key': '[redacted]', Accept: 'a' });
    expect(first.password).toBe('[redacted]');
    expect(first.msg).toBe('sending to https://h/?token=***');
    expect(JSON.parse(lines[1]!).err.message).toBe('failed: POST https://***:***@h/ with Bearer [redacted]');
  });
});
