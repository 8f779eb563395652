/**
 * A transport that is down does not stop a node from accepting: with the broker unreachable (a relay
 * in front of the real RabbitMQ cut), `/healthz` answers 200 with `status: "degraded"` and the broker
 * check saying why, submissions are still accepted, and it is `ok` again once the broker is back.
 * (Before 0.2.0 a broker outage answered 503.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpRelay } from '../delivery/amqp/tcp-relay.js';
import { waitUntil } from '../support/eventually.js';
import { amqpResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const amqp = await amqpResource('health');
const data = tempDataDir('health-amqp');
let relay: TcpRelay;
let service: RunningServiceProcess | undefined;
let endpoint: FlakyEndpoint;

beforeAll(async () => {
  if (!amqp) return;
  endpoint = await flakyEndpoint();
  const broker = new URL(amqp.url);
  relay = await TcpRelay.reserve({ host: broker.hostname, port: Number(broker.port || 5672) });
  await relay.open();
  const serviceName = amqp.name('svc');
  amqp.name('svc.replies');
  service = await ServiceProcess.start({ DATA_DIR: data.dir, AMQP_URL: relay.urlFrom(amqp.url), AMQP_SERVICE_NAME: serviceName });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await relay?.block();
  await endpoint?.close();
  await amqp?.cleanup();
  data.remove();
});

describe.runIf(amqp)('/healthz with the broker down', () => {
  it('answers 200 degraded naming the broker, keeps accepting, and is ok again once it reconnects', async () => {
    const healthz = () => getJson(service!.baseUrl, '/healthz');
    expect(await healthz()).toEqual({
      status: 200,
      json: {
        status: 'ok',
        role: 'active',
        checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: true, reason: 'running' }, broker: { ok: true, reason: 'connected' } },
      },
    });

    await relay.block();
    await waitUntil('the service noticed', async () => (await healthz()).json.status !== 'ok', 30_000);
    expect(await healthz()).toMatchObject({
      status: 200,
      json: {
        status: 'degraded',
        role: 'active',
        checks: { journal: { ok: true }, outbox: { ok: true }, broker: { ok: false, reason: 'disconnected', message: expect.stringMatching(/RabbitMQ/) } },
      },
    });
    expect((await postJson(service!.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { during: 'outage' } })).status).toBe(202);

    await relay.open();
    await waitUntil('reconnected', async () => (await healthz()).json.status === 'ok', 60_000);
    expect((await healthz()).status).toBe(200);
  });
});
