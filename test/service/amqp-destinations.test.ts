/**
 * RabbitMQ destinations the service refuses (400 destination_not_allowed, nothing persisted): its own
 * reply queue (a message there would be read as a confirmation batch) and broker-internal amq.* names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  service = await ServiceProcess.start({ DATA_DIR: data.dir, AMQP_URL: amqp.url, AMQP_SERVICE_NAME: serviceName });
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
});
