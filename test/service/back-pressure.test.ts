/**
 * MAX_UNCONFIRMED_MESSAGES at the API: past it, a new message and a redrive are both answered 429 and
 * leave nothing in the journal (the dead letter stays, the in-flight count does not grow).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { getJson, postJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';
import { waitUntil } from '../support/eventually.js';

const data = tempDataDir('back-pressure');
let service: RunningServiceProcess;
let failing: FlakyEndpoint;
/** Takes requests and never answers them: a delivery to it stays unconfirmed for the whole test. */
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  failing = await flakyEndpoint(() => true);
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
  service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    MAX_UNCONFIRMED_MESSAGES: '1',
    DEAD_LETTER_AFTER_ATTEMPTS: '1',
    HTTP_TIMEOUT_MS: '600000',
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await failing?.close();
  silent?.closeAllConnections();
  silent?.close();
  data.remove();
});

it('answers 429 to a message and to a redrive past MAX_UNCONFIRMED_MESSAGES, and persists neither', async () => {
  const dead = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: failing.url }, payload: { n: 1 } });
  expect(dead.status).toBe(202);
  const deadId = dead.json.deliveryId as number;
  // Due again after REDELIVER_INTERVAL_MS (5 s, the default), looked at every 2.5 s: up to ~7.5 s.
  await waitUntil('dead-lettered after one attempt', async () => (await getJson(service.baseUrl, `/deliveries/${deadId}`)).json.status === 'dead-lettered', 30_000);

  const held = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: silentUrl }, payload: { n: 2 } });
  expect(held.status).toBe(202);
  const heldId = held.json.deliveryId as number;
  // `held` is in flight until it is due again, 5 s from now (then dead-lettered in its turn): the checks
  // below, a few local requests, come long before.

  const refused = await postJson(service.baseUrl, '/messages', { destination: { transport: 'http', url: failing.url }, payload: { n: 3 } });
  expect(refused).toMatchObject({ status: 429, json: { error: { code: 'too_many_unconfirmed' } } });
  expect(await postJson(service.baseUrl, `/dead-letters/${deadId}/redrive`, {})).toMatchObject({ status: 429, json: { error: { code: 'too_many_unconfirmed' } } });
  expect(await postJson(service.baseUrl, '/dead-letters/redrive', {})).toMatchObject({ status: 429, json: { error: { code: 'too_many_unconfirmed' } } });
  expect(await postJson(service.baseUrl, `/dead-letters/${heldId}/redrive`, {})).toMatchObject({ status: 404, json: { error: { code: 'not_dead_lettered' } } });

  expect((await getJson(service.baseUrl, `/deliveries/${deadId}`)).json.status).toBe('dead-lettered');
  const inFlight = await getJson(service.baseUrl, '/deliveries');
  expect((inFlight.json.deliveries as { deliveryId: number }[]).map((d) => d.deliveryId)).toEqual([heldId]);
  expect((await getJson(service.baseUrl, '/dead-letters')).json.count).toBe(1);
});
