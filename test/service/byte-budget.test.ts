/**
 * MAX_UNCONFIRMED_BYTES at the API: past the byte budget of unconfirmed payloads a new message is
 * answered 429 like past the count, and nothing of it is persisted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, postJson, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

const data = tempDataDir('byte-budget');
let service: RunningServiceProcess;
/** Takes requests and never answers them: deliveries to it stay unconfirmed for the whole test. */
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
  service = await ServiceProcess.start({ DATA_DIR: data.dir, MAX_UNCONFIRMED_BYTES: '2500', HTTP_TIMEOUT_MS: '600000' });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  silent?.closeAllConnections();
  silent?.close();
  data.remove();
});

it('answers 429 past MAX_UNCONFIRMED_BYTES and persists nothing of the refused message; a small one still fits', async () => {
  const destination = { transport: 'http', url: silentUrl };
  const payload = { text: 'x'.repeat(1000) }; // 1013 bytes as JSON
  expect((await postJson(service.baseUrl, '/messages', { destination, payload })).status).toBe(202);
  expect((await postJson(service.baseUrl, '/messages', { destination, payload })).status).toBe(202);
  const refused = await postJson(service.baseUrl, '/messages', { destination, payload });
  expect(refused).toMatchObject({ status: 429, json: { error: { code: 'too_many_unconfirmed' } } });
  expect(String(refused.json.error && (refused.json.error as { message: string }).message)).toContain('maxUnconfirmedBytes');
  expect((await postJson(service.baseUrl, '/messages', { destination, payload: { n: 3 } })).status).toBe(202);
  const inFlight = await getJson(service.baseUrl, '/deliveries');
  expect((inFlight.json.deliveries as { deliveryId: number }[]).map((d) => d.deliveryId)).toEqual([1, 2, 3]);
});
