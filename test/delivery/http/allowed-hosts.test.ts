/**
 * Where httpTransport may send: link-local and cloud-metadata addresses refused in every disguise,
 * `allowedHosts` limits destinations to a list, a name resolving to a refused address fails at send
 * time without a request, and redirects are not followed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, Outbox, inMemoryJournal, inMemorySnapshotStore, type TransportContext } from '../../../src/index.js';
import { DestinationNotAllowedError, HttpDestinationPolicy, httpTransport, HttpStatusError, refusedAddressReason, type HttpTransport } from '../../../delivery/http/index.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sink(
  answer: (request: IncomingMessage) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }),
): Promise<{ url: string; port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request);
    request.resume();
    request.on('end', () => {
      const { status, headers } = answer(request);
      response.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, port, requests };
}

async function started(transport: HttpTransport): Promise<{ confirmed: [string, number][] }> {
  const confirmed: [string, number][] = [];
  const context: TransportContext = { confirm: (senderId, deliveryId) => confirmed.push([senderId, deliveryId]), confirmReceived: () => {}, logger: silent };
  await transport.start(context);
  cleanups.push(() => transport.close());
  return { confirmed };
}

const refusedForms = [
  'http://169.254.169.254/latest/meta-data/',
  'http://0xa9fea9fe/',
  'http://2852039166/',
  'http://0251.0376.0251.0376/',
  'http://169.254.43518/',
  'http://169.254.170.2/v2/credentials',
  'http://100.100.100.200/latest/meta-data',
  'http://[fe80::1]/',
  'http://[fe80::a:b]:8080/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[64:ff9b::169.254.169.254]/',
  'http://[fd00:ec2::254]/',
  'http://0.0.0.0:8080/',
  'http://[::]/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'file:///etc/passwd',
  'ftp://example.com/x',
  'gopher://127.0.0.1:6379/_',
];

describe('HttpDestinationPolicy', () => {
  it('refuses link-local and cloud-metadata addresses in every numeric disguise, and non-http schemes, without a list', () => {
    const policy = new HttpDestinationPolicy();
    for (const url of refusedForms) {
      const error = (() => {
        try {
          policy.checkUrl(new URL(url));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, url).toBeInstanceOf(DestinationNotAllowedError);
      expect((error as DestinationNotAllowedError).code).toBe('ERR_DESTINATION_NOT_ALLOWED');
    }
  });

  it('allows private and loopback addresses and names without a list', () => {
    const policy = new HttpDestinationPolicy();
    for (const url of [
      'http://127.0.0.1:5432/',
      'http://0x7f000001/',
      'http://2130706433/',
      'http://[::1]:8080/',
      'http://10.1.2.3/',
      'http://192.168.1.1/',
      'http://[fd12::1]/',
      'https://hooks.example.com/x',
      'http://localhost:3000/',
    ]) {
      expect(() => policy.checkUrl(new URL(url)), url).not.toThrow();
    }
  });

  it('with a list: only listed names, wildcards (below the name), CIDR ranges and ports', () => {
    const policy = new HttpDestinationPolicy(['hooks.example.com', '*.internal.example', '10.0.0.0/8', '[fd00::/8]:9000', 'api.example.org:8443']);
    const allowed = [
      'https://hooks.example.com/a',
      'http://HOOKS.example.com./b',
      'http://a.internal.example/',
      'http://x.y.internal.example:81/',
      'http://10.20.30.40/',
      'http://0x0a000001/',
      'http://[fd00::5]:9000/',
      'https://api.example.org:8443/',
    ];
    const refused = [
      'https://evil.example.com/',
      'http://internal.example/',
      'http://11.0.0.1/',
      'http://127.0.0.1/',
      'http://[fd00::5]/',
      'https://api.example.org/',
      'http://169.254.169.254/',
    ];
    for (const url of allowed) expect(() => policy.checkUrl(new URL(url)), url).not.toThrow();
    for (const url of refused) expect(() => policy.checkUrl(new URL(url)), url).toThrow(DestinationNotAllowedError);
    expect(() => policy.checkUrl(new URL('https://evil.example.com/'))).toThrow(/not in the allowed hosts/);
  });

  it('answers a URL checked before as the first time, told apart by scheme, host and port', () => {
    const policy = new HttpDestinationPolicy(['api.example.org:8443', '10.0.0.0/8']);
    const cases = [
      ['https://api.example.org:8443/a', true],
      ['https://api.example.org/a', false],
      ['http://api.example.org:8443/b', true],
      ['http://api.example.org/b', false],
      ['http://10.1.2.3/', true],
      ['http://169.254.169.254/', false],
      ['http://0xa9fea9fe/', false],
    ] as const;
    const messages = new Map<string, string>();
    for (let pass = 0; pass < 3; pass++) {
      for (const [url, allowed] of cases) {
        if (allowed) {
          expect(() => policy.checkUrl(new URL(url)), url).not.toThrow();
          continue;
        }
        const error = (() => {
          try {
            policy.checkUrl(new URL(url));
          } catch (e) {
            return e as DestinationNotAllowedError;
          }
          return undefined;
        })();
        expect(error, url).toBeInstanceOf(DestinationNotAllowedError);
        expect(error!.message).toBe(messages.get(url) ?? error!.message);
        messages.set(url, error!.message);
      }
    }
    expect(messages.get('http://169.254.169.254/')).toMatch(/metadata/);
    expect(messages.get('https://api.example.org/a')).toMatch(/port 443/);
  });

  it('lets an explicit address entry allow an otherwise refused address', () => {
    expect(() => new HttpDestinationPolicy(['169.254.10.0/24']).checkUrl(new URL('http://169.254.10.7/'))).not.toThrow();
    expect(() => new HttpDestinationPolicy(['169.254.10.0/24']).checkUrl(new URL('http://169.254.169.254/'))).toThrow(DestinationNotAllowedError);
  });

  it('refuses malformed entries with an InvalidOptionError naming the entry', () => {
    for (const [entries, message] of [
      [['x:0'], /"x:0": the port/],
      [['10.0.0.0/33'], /prefix length/],
      [['*'], /not a host name/],
      [['a b'], /not a host name/],
      [['[fd00::'], /missing "]"/],
      [[], /must not be empty/],
    ] as const) {
      expect(() => new HttpDestinationPolicy(entries as unknown as string[])).toThrow(message);
    }
    expect(() => httpTransport({ allowedHosts: ['10.0.0.0/99'] })).toThrow(/prefix length/);
  });

  it('knows why an address is refused', () => {
    expect(refusedAddressReason('169.254.169.254')).toMatch(/metadata/);
    expect(refusedAddressReason('::ffff:169.254.169.254')).toMatch(/embedded/);
    expect(refusedAddressReason('fe80::1%eth0')).toMatch(/link-local/);
    expect(refusedAddressReason('::1')).toBeUndefined();
    expect(refusedAddressReason('10.0.0.1')).toBeUndefined();
  });
});

describe('httpTransport destination policy', () => {
  it('validateDestination refuses with DestinationNotAllowedError, so nothing is persisted', async () => {
    const transport = httpTransport({ allowedHosts: ['hooks.example.com'] });
    expect(() => transport.validateDestination({ transport: 'http', url: 'http://169.254.169.254/' })).toThrow(DestinationNotAllowedError);
    expect(() => transport.validateDestination({ transport: 'http', url: 'https://other.example.com/' })).toThrow(DestinationNotAllowedError);
    expect(() => transport.validateDestination({ transport: 'http', url: 'https://hooks.example.com/x' })).not.toThrow();

    const system = ActorSystem.create('policy-outbox', {
      journal: inMemoryJournal({ logger: silent }),
      snapshotStore: inMemorySnapshotStore(),
      logger: silent,
      transports: [httpTransport()],
    });
    cleanups.push(() => system.terminate());
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    await expect(outbox.send({ transport: 'http', url: 'http://0xa9fea9fe/' }, { n: 1 })).rejects.toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
    expect((await outbox.stats()).accepted).toBe(0);
  });

  it('refuses at send time a destination stored before the policy allowed it no more (a failed attempt, no request)', async () => {
    const target = await sink();
    const transport = httpTransport({ allowedHosts: ['hooks.example.com'] });
    const { confirmed } = await started(transport);
    const error = await transport.send({ transport: 'http', url: target.url }, { senderId: 's', deliveryId: 1, message: {}, attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DestinationNotAllowedError);
    expect(target.requests).toHaveLength(0);
    expect(confirmed).toEqual([]);
  });

  it('a host name that resolves to a refused address fails at send time with a clear error, and is never requested', async () => {
    const target = await sink();
    const asked: string[] = [];
    // Resolves "sneaky.test" to the sink and to the metadata address: any refused answer refuses the name.
    const lookup = ((hostname: string, options: { all?: boolean }, callback: (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void) => {
      asked.push(hostname);
      const answers = [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ];
      if (options.all) callback(null, answers);
      else callback(null, answers[1]!.address, 4);
    }) as unknown as LookupFunction;
    const system = ActorSystem.create('policy-dns', {
      journal: inMemoryJournal({ logger: silent }),
      snapshotStore: inMemorySnapshotStore(),
      logger: silent,
      transports: [httpTransport({ lookup, timeoutMs: 2000 })],
    });
    cleanups.push(() => system.terminate());
    const outbox = Outbox.start(system, { redeliverInterval: 60_000 });
    const { deliveryId } = await outbox.send({ transport: 'http', url: `http://sneaky.test:${target.port}/hook` }, { n: 1 });
    let status = await outbox.status(deliveryId);
    const deadline = Date.now() + 5000;
    while (!(status.status === 'in-flight' && status.lastError) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await outbox.status(deliveryId);
    }
    expect(status.status === 'in-flight' && status.lastError).toMatch(
      /sneaky\.test resolves to 169\.254\.169\.254, which is a link-local \/ cloud-metadata address; it was not requested/,
    );
    expect(asked).toContain('sneaky.test');
    expect(target.requests).toHaveLength(0);
  });

  it('does not follow a redirect: a 302 is a failed attempt, not a confirmation', async () => {
    const elsewhere = await sink();
    const redirecting = await sink(() => ({ status: 302, headers: { Location: elsewhere.url } }));
    const transport = httpTransport({ timeoutMs: 2000 });
    const { confirmed } = await started(transport);
    const error = await transport.send({ transport: 'http', url: redirecting.url }, { senderId: 's', deliveryId: 3, message: {}, attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(302);
    expect(redirecting.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(confirmed).toEqual([]);
  });

  it('redacts credentials in its error messages', async () => {
    const failing = await sink(() => ({ status: 500 }));
    const transport = httpTransport({ timeoutMs: 2000 });
    await started(transport);
    const url = `${failing.url.replace('http://', 'http://user:pw-1234@')}?token=tok-5678&x=1`;
    const error = await transport.send({ transport: 'http', url }, { senderId: 's', deliveryId: 4, message: {}, attempt: 1 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/answered 500/);
    expect((error as Error).message).not.toMatch(/pw-1234|tok-5678|user/);
    expect(failing.requests[0]!.url).toBe('/hook?token=tok-5678&x=1');
    expect(failing.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pw-1234').toString('base64')}`);
  });
});
