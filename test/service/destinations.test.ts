/**
 * Destinations the service refuses (400 destination_not_allowed, nothing persisted): link-local and
 * cloud-metadata addresses in every disguise and non-http schemes; with HTTP_ALLOWED_HOSTS anything not
 * listed. A redirect from a destination is not followed and does not confirm.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call } from './support/requests.js';
import { ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const open = tempDataDir('destinations-open');
const listed = tempDataDir('destinations-listed');
let service: RunningServiceProcess;
let restricted: RunningServiceProcess;
let sink: FlakyEndpoint;
let redirector: Server;
let redirectorUrl: string;

beforeAll(async () => {
  sink = await flakyEndpoint();
  redirector = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(302, { Location: sink.url }).end());
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/moved`;
  const sinkPort = new URL(sink.url).port;
  [service, restricted] = await Promise.all([
    ServiceProcess.start({ DATA_DIR: open.dir, REDELIVER_INTERVAL_MS: '200', REDELIVERY_MAX_INTERVAL_MS: '300' }),
    ServiceProcess.start({ DATA_DIR: listed.dir, HTTP_TIMEOUT_MS: '500', HTTP_ALLOWED_HOSTS: `hooks.example.test,*.svc.example.test,10.0.0.0/8,[fd00::/8],127.0.0.1:${sinkPort}` }),
  ]);
});

afterAll(async () => {
  await Promise.all([service?.stop('SIGKILL'), restricted?.stop('SIGKILL')]);
  await sink?.close();
  redirector?.closeAllConnections();
  await new Promise<void>((resolve) => (redirector ? redirector.close(() => resolve()) : resolve()));
  open.remove();
  listed.remove();
});

const post = (target: RunningServiceProcess, url: string) => call(target.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url }, payload: { to: url } } });

async function accepted(target: RunningServiceProcess): Promise<number> {
  const text = (await call(target.baseUrl, 'GET', '/metrics')).text;
  return Number(/^steadfast_messages_accepted_total (\d+)$/m.exec(text)![1]);
}

describe('without HTTP_ALLOWED_HOSTS', () => {
  it('refuses link-local, cloud-metadata and disguised addresses and non-http schemes with 400 destination_not_allowed, persisting nothing', async () => {
    const refused = [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://0xa9fea9fe/',
      'http://2852039166/',
      'http://0251.0376.0251.0376/',
      'http://169.254.43518/',
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'file:///etc/passwd',
      'ftp://example.com/file',
    ];
    for (const url of refused) {
      const answer = await post(service, url);
      expect({ url, status: answer.status, code: answer.json.error?.code }).toEqual({ url, status: 400, code: 'destination_not_allowed' });
    }
    expect((await call(service.baseUrl, 'GET', '/deliveries')).json.count).toBe(0);
    expect(await accepted(service)).toBe(0);
  });

  it('accepts loopback and private addresses, also in numeric forms', async () => {
    for (const url of [sink.url, sink.url.replace('127.0.0.1', '0x7f000001'), sink.url.replace('127.0.0.1', '2130706433')]) {
      expect((await post(service, url)).status, url).toBe(202);
    }
    await waitUntil('the sink got all three', () => sink.accepted.length >= 3, 10_000);
  });

  it('does not follow a redirect: a 302 is a failed attempt, never a confirmation', async () => {
    // The earlier deliveries confirmed first: a slow confirmation's redelivery must not count as a followed redirect.
    await waitUntil('nothing else in flight', async () => (await call(service.baseUrl, 'GET', '/deliveries')).json.count === 0, 10_000, 50);
    const before = sink.requests;
    const answer = await post(service, redirectorUrl);
    const id = answer.json.deliveryId as number;
    await waitUntil(
      'attempted at least twice with a last error',
      async () => {
        const status = await call(service.baseUrl, 'GET', `/deliveries/${id}`);
        return status.json.status === 'in-flight' && (status.json.attempts as number) >= 2 && typeof status.json.lastError === 'string';
      },
      10_000,
      50,
    );
    const status = await call(service.baseUrl, 'GET', `/deliveries/${id}`);
    expect(status.json.lastError).toMatch(/answered 302/);
    expect(sink.requests).toBe(before);
  });
});

describe('with HTTP_ALLOWED_HOSTS', () => {
  it('accepts listed names, wildcards, CIDR ranges and host:port, and refuses the rest', async () => {
    const allowed = [
      'https://hooks.example.test/in',
      'https://a.svc.example.test/in',
      'http://deep.b.svc.example.test:8080/',
      'http://10.20.30.40/',
      'http://[fd00::1]/',
      sink.url,
    ];
    const refused = [
      'https://evil.example.test/',
      'https://svc.example.test/',
      'http://11.0.0.1/',
      'http://localhost/',
      'http://127.0.0.1:1/',
      'http://169.254.169.254/',
      'http://[fe80::1]/',
    ];
    for (const url of allowed) expect({ url, status: (await post(restricted, url)).status }).toEqual({ url, status: 202 });
    for (const url of refused) {
      const answer = await post(restricted, url);
      expect({ url, status: answer.status, code: answer.json.error?.code }).toEqual({ url, status: 400, code: 'destination_not_allowed' });
    }
    expect(await accepted(restricted)).toBe(allowed.length);
  });
});
