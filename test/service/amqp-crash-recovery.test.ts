/**
 * The service's promise end to end: 1000 messages to an HTTP endpoint that fails a third of the time
 * and 1000 to a RabbitMQ queue, the service SIGKILLed half-way through the submissions and restarted on
 * the same data directory; every message that was answered 202 arrives and is confirmed, and the
 * in-flight list drains to empty. Duplicates at the destinations are allowed (at-least-once).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpConsumer, type AmqpConsumer } from '../../delivery/amqp/index.js';
import { amqpResource } from '../support/services.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const PER_DESTINATION = 1000;
const CONCURRENCY = 16;

const amqp = await amqpResource('service-crash');

interface Message {
  readonly kind: 'http' | 'amqp';
  readonly n: number;
}

describe('service: SIGKILL half-way through 2 x 1000 submissions, then restart', () => {
  const data = tempDataDir('crash');
  let endpoint: FlakyEndpoint;
  let consumer: AmqpConsumer | undefined;
  const receivedOverAmqp: number[] = [];
  let queue = '';
  let serviceName = '';
  let refuseFirst = true;

  beforeAll(async () => {
    // Every third request fails: the deliveries behind them are redelivered with backoff. The first
    // HTTP message is refused until the service was restarted, so the kill certainly leaves it unconfirmed.
    endpoint = await flakyEndpoint((requestNumber, body) => (refuseFirst && (body as Message).kind === 'http' && (body as Message).n === 0) || requestNumber % 3 === 0);
    if (amqp) {
      queue = amqp.name('destination');
      amqp.name('destination.dead-letter');
      serviceName = amqp.name('svc');
      amqp.name('svc.replies');
      consumer = amqpConsumer({
        url: amqp.url,
        queue,
        logger: pino({ level: 'silent' }),
        handler: async (message) => {
          if (message.kind === 'steadfast') receivedOverAmqp.push((message.body as { n: number }).n);
        },
      });
      await consumer.start();
    }
  });

  afterAll(async () => {
    await consumer?.close();
    await endpoint?.close();
    await amqp?.cleanup();
    data.remove();
  });

  it('delivers and confirms every accepted message', async () => {
    if (!amqp) console.warn('[note] RabbitMQ unavailable: only the HTTP half of this test runs');
    const env: Record<string, string> = {
      DATA_DIR: data.dir,
      REDELIVER_INTERVAL_MS: '200',
      REDELIVERY_MAX_INTERVAL_MS: '1000',
      HTTP_TIMEOUT_MS: '3000',
      ...(amqp ? { AMQP_URL: amqp.url, AMQP_SERVICE_NAME: serviceName } : {}),
    };
    const messages: Message[] = [];
    for (let n = 0; n < PER_DESTINATION; n++) {
      messages.push({ kind: 'http', n });
      if (amqp) messages.push({ kind: 'amqp', n });
    }
    const destinationOf = (message: Message) => (message.kind === 'http' ? { transport: 'http', url: endpoint.url } : { transport: 'amqp', queue });

    let service: RunningServiceProcess = await ServiceProcess.start(env);
    const firstPid = service.child.pid;
    const acceptedIds = new Map<string, number>();
    const pending = [...messages];
    const killAt = Math.floor(messages.length / 2);
    let killed: Promise<unknown> | undefined;

    // Submitters pull from `pending`; a request that fails (the service died under it) goes back.
    const submitAll = async (): Promise<void> => {
      const worker = async (): Promise<void> => {
        for (let message = pending.shift(); message; message = pending.shift()) {
          const key = `${message.kind}-${message.n}`;
          try {
            const response = await fetch(`${service.baseUrl}/messages`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': key },
              body: JSON.stringify({ destination: destinationOf(message), payload: message }),
            });
            const body = (await response.json()) as { deliveryId: number };
            expect(response.status).toBe(202);
            const earlier = acceptedIds.get(key);
            // A retried key gets the id of its first acceptance, across the crash too.
            if (earlier !== undefined) expect(body.deliveryId).toBe(earlier);
            acceptedIds.set(key, body.deliveryId);
            if (!killed && acceptedIds.size >= killAt) killed = service.stop('SIGKILL');
          } catch (error) {
            if ((error as { name?: string }).name === 'AssertionError') throw error;
            pending.push(message);
            if (killed) return;
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };

    await submitAll();
    expect(killed, 'the service was killed half-way').toBeDefined();
    expect(await service.exited).toMatchObject({ signal: 'SIGKILL' });
    const acceptedBeforeKill = acceptedIds.size;
    expect(acceptedBeforeKill).toBeGreaterThanOrEqual(killAt);
    expect(acceptedBeforeKill).toBeLessThan(messages.length);

    service = await ServiceProcess.start(env);
    expect(service.child.pid).not.toBe(firstPid);
    const recovered = await service.waitFor((line) => line.msg.startsWith('outbox recovered'));
    expect(recovered.accepted as number).toBeGreaterThanOrEqual(acceptedBeforeKill);
    // The kill left deliveries unconfirmed (http-0 at least, and whatever had hardly been sent): the
    // restart resumes them.
    expect(recovered.inFlight as number).toBeGreaterThan(0);
    refuseFirst = false;
    console.log(`killed after ${acceptedBeforeKill} accepted; ${String(recovered.inFlight)} unconfirmed resumed after restart`);
    const health = await getJson(service.baseUrl, '/healthz');
    expect(health).toEqual({
      status: 200,
      json: {
        status: 'ok',
        role: 'active',
        checks: { journal: { ok: true, reason: 'writable' }, outbox: { ok: true, reason: 'running' }, ...(amqp ? { broker: { ok: true, reason: 'connected' } } : {}) },
      },
    });
    await submitAll();
    expect(pending).toEqual([]);
    expect(acceptedIds.size).toBe(messages.length);

    const missing = (): string[] => {
      const http = new Set(endpoint.accepted.map((body) => (body as Message).n));
      const overAmqp = new Set(receivedOverAmqp);
      return messages.filter((m) => !(m.kind === 'http' ? http : overAmqp).has(m.n)).map((m) => `${m.kind}-${m.n}`);
    };
    await waitUntil('every accepted message arrived', () => missing().length === 0, 90_000);
    await waitUntil('the in-flight list is empty', async () => (await getJson(service.baseUrl, '/deliveries')).json.count === 0, 60_000);
    expect(endpoint.failures).toBeGreaterThan(0);

    const deadLetters = await getJson(service.baseUrl, '/dead-letters');
    expect(deadLetters.json.count).toBe(0);
    const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('steadfast_deliveries_in_flight')).toBe(0);
    // Idempotency held across the crash: a submission persisted just before the kill, whose answer was
    // lost, was retried with the same key and got the same id, so the journal holds each message once.
    expect(value('steadfast_messages_accepted_total')).toBe(messages.length);
    expect(value('steadfast_deliveries_confirmed_total')).toBe(messages.length);
    const ids = new Set(acceptedIds.values());
    expect(ids.size).toBe(messages.length);
    for (const id of [...ids].slice(0, 50)) expect((await getJson(service.baseUrl, `/deliveries/${id}`)).json.status).toBe('confirmed');

    expect(await service.stop('SIGTERM')).toMatchObject({ code: 0 });
  }, 240_000);
});
