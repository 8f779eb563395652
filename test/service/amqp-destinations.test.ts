/**
 * RabbitMQ destinations the service refuses (400 destination_not_allowed, nothing persisted): its own
 * reply queue (a message there would be read as a confirmation batch) and broker-internal amq.* names;
 * exchanges the broker does not have (400 unknown_exchange). The broker's own reason for a failed
 * attempt reaches the delivery's lastError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { amqpResource } from '../support/services.js';
import { call } from './support/requests.js';
import { ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const amqp = await amqpResource('service-amqp-dest');
const data = tempDataDir('amqp-destinations');
let service: RunningServiceProcess;
let serviceName: string;

beforeAll(async () => {
  if (!amqp) return;
  serviceName = amqp.name('svc');
  amqp.name('svc.replies');
  amqp.name('orders');
  service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    AMQP_URL: amqp.url,
    AMQP_SERVICE_NAME: serviceName,
    REDELIVER_INTERVAL_MS: '200',
    REDELIVERY_MAX_INTERVAL_MS: '200',
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await amqp?.cleanup();
  data.remove();
});

describe.runIf(amqp)('AMQP destinations', () => {
  it('refuses the reply queue and amq.* names, and accepts ordinary ones', async () => {
    const refused = [
      { transport: 'amqp', queue: `${serviceName}.replies` },
      { transport: 'amqp', queue: `${serviceName}.replies`, confirm: 'broker' },
      { transport: 'amqp', queue: 'amq.rabbitmq.reply-to' },
      { transport: 'amqp', queue: 'amq.gen-abc' },
      { transport: 'amqp', exchange: 'amq.direct', routingKey: `${serviceName}.replies` },
      { transport: 'amqp', exchange: 'amq.topic', routingKey: 'anything' },
      { transport: 'amqp', exchange: 'amq.rabbitmq.trace', routingKey: '#' },
    ];
    for (const destination of refused) {
      const answer = await call(service.baseUrl, 'POST', '/messages', { body: { destination, payload: { forged: true } } });
      expect({ destination, status: answer.status, code: answer.json.error?.code }).toEqual({ destination, status: 400, code: 'destination_not_allowed' });
    }
    expect((await call(service.baseUrl, 'GET', '/deliveries')).json.count).toBe(0);
    const ok = await call(service.baseUrl, 'POST', '/messages', {
      body: { destination: { transport: 'amqp', queue: amqp!.name('orders'), confirm: 'broker' }, payload: { n: 1 } },
    });
    expect(ok.status).toBe(202);
  });

  it('refuses an exchange the broker does not have with 400 unknown_exchange and its reply, before anything is persisted', async () => {
    const before = (await call(service.baseUrl, 'GET', '/deliveries')).json.count;
    const missing = amqp!.name('no-such-exchange');
    const answer = await call(service.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'amqp', exchange: missing, routingKey: 'k' }, payload: { n: 1 } } });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'unknown_exchange', message: expect.stringContaining(`NOT_FOUND - no exchange '${missing}' in vhost '/'`) });
    expect((await call(service.baseUrl, 'GET', '/deliveries')).json.count).toBe(before);
  });

  it("puts the broker's reason into lastError: NO_ROUTE while nothing is bound, NOT_FOUND once the exchange is gone", async () => {
    const exchange = amqp!.name('soon-gone');
    const connection = await amqp!.connection();
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'direct', { durable: true });
    const accepted = await call(service.baseUrl, 'POST', '/messages', {
      body: { destination: { transport: 'amqp', exchange, routingKey: 'nobody', confirm: 'broker' }, payload: { n: 2 } },
    });
    expect(accepted.status).toBe(202);
    const path = `/deliveries/${String(accepted.json.deliveryId)}`;
    const unroutable = await eventually(
      () => call(service.baseUrl, 'GET', path),
      (a) => typeof a.json.lastError === 'string',
      20_000,
      'a failed attempt',
    );
    expect(unroutable.json.lastError).toContain('NO_ROUTE');
    await channel.deleteExchange(exchange);
    const gone = await eventually(
      () => call(service.baseUrl, 'GET', path),
      (a) => String(a.json.lastError).includes('NOT_FOUND'),
      20_000,
      'the NOT_FOUND reason',
    );
    expect(gone.json.lastError).toContain(`NOT_FOUND - no exchange '${exchange}' in vhost '/'`);
    // Deliveries elsewhere are not held up by it.
    await channel.assertQueue(amqp!.name('orders'), { durable: true });
    const other = await call(service.baseUrl, 'POST', '/messages', {
      body: { destination: { transport: 'amqp', queue: amqp!.name('orders'), confirm: 'broker' }, payload: { n: 3 } },
    });
    await eventually(
      () => call(service.baseUrl, 'GET', `/deliveries/${String(other.json.deliveryId)}`),
      (a) => a.json.status === 'confirmed',
      20_000,
      'the other delivery confirmed',
    );
  });
});
