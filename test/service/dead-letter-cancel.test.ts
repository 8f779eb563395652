/**
 * `DELETE /dead-letters/:id` over HTTP: a dead letter is cancelled for good (200 with its attempts and
 * `cancelledAt`, gone from `GET /dead-letters`, `GET /deliveries/:id` says cancelled, also after a
 * restart), again answers the same, cannot be redriven afterwards; what is not a dead letter is left
 * alone with `404 not_dead_lettered` naming what it is; a bad id is refused like on the other routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call } from './support/requests.js';
import { tempDataDir } from './support/service-process.js';
import { switchEndpoint, type SwitchEndpoint } from './support/switch-endpoint.js';

const data = tempDataDir('dead-letter-cancel');
const environment = { DATA_DIR: data.dir, DEAD_LETTER_AFTER_ATTEMPTS: '1', REDELIVER_INTERVAL_MS: '200', REDELIVERY_MAX_INTERVAL_MS: '400' };
let node: InProcessService;
let endpoint: SwitchEndpoint;

beforeAll(async () => {
  endpoint = await switchEndpoint();
  endpoint.set('dead', 'refuse');
  endpoint.set('held', 'hold');
  node = await startInProcess(environment);
});
afterAll(async () => {
  await node?.stop();
  await endpoint?.close();
  data.remove();
});

async function submit(mode: string): Promise<number> {
  const answer = await call(node.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url: endpoint.url }, payload: { mode } } });
  expect(answer.status).toBe(202);
  return answer.json.deliveryId as number;
}

async function deadLetter(mode = 'dead'): Promise<number> {
  const id = await submit(mode);
  await waitUntil(`delivery ${id} is a dead letter`, async () => (await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json.status === 'dead-lettered', 10_000, 20);
  return id;
}

const listed = async (): Promise<number[]> => ((await call(node.baseUrl, 'GET', '/dead-letters')).json.deadLetters as { deliveryId: number }[]).map((d) => d.deliveryId);

describe('DELETE /dead-letters/:id', () => {
  it('cancels a dead letter for good: 200 cancelled, no longer listed nor redrivable, the same answer again, also after a restart', async () => {
    const id = await deadLetter();
    const kept = await deadLetter();
    expect(await listed()).toEqual([id, kept]);

    const cancelled = await call(node.baseUrl, 'DELETE', `/dead-letters/${id}`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.json).toEqual({ status: 'cancelled', deliveryId: id, attempts: 1, cancelledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(await listed()).toEqual([kept]);
    expect((await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json).toEqual(cancelled.json);
    expect(node.lines.some((line) => line.level === 30 && line.msg === `dead letter ${id} cancelled: it is not sent again`)).toBe(true);
    const metrics = (await call(node.baseUrl, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^steadfast_deliveries_dead_lettered 1$/m);

    // A retried DELETE answers the same; a redrive now finds no dead letter.
    expect(await call(node.baseUrl, 'DELETE', `/dead-letters/${id}`)).toMatchObject({ status: 200, json: cancelled.json });
    const redrive = await call(node.baseUrl, 'POST', `/dead-letters/${id}/redrive`);
    expect(redrive.status).toBe(404);
    expect(redrive.json.error).toMatchObject({ code: 'not_dead_lettered' });
    const requestsBefore = endpoint.requests('dead');
    expect((await call(node.baseUrl, 'POST', '/dead-letters/redrive')).json).toEqual({ redriven: [kept] });
    await waitUntil('the redriven one was sent again', () => endpoint.requests('dead') > requestsBefore, 10_000, 20);

    await node.stop();
    node = await startInProcess(environment);
    expect((await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json).toEqual(cancelled.json);
    expect(await listed()).not.toContain(id);
    expect((await call(node.baseUrl, 'POST', `/dead-letters/${id}/redrive`)).json.error).toMatchObject({ code: 'not_dead_lettered' });
  });

  it('leaves what is not a dead letter alone: 404 not_dead_lettered naming what it is; a bad id is 400 like on the other routes', async () => {
    const inFlight = await submit('held');
    await waitUntil('the held one was sent', () => endpoint.requests('held') > 0, 10_000, 20);
    const redriven = await deadLetter();
    const again = (await call(node.baseUrl, 'POST', `/dead-letters/${redriven}/redrive`)).json.redriven as number[];
    expect(again).toEqual([redriven]);
    const redrivenAs = (await call(node.baseUrl, 'GET', `/deliveries/${redriven}`)).json.redrivenAs as number;

    for (const [id, status] of [
      [inFlight, 'in-flight'],
      [redriven, `redriven (sent again as delivery ${redrivenAs})`],
      [999_999, 'unknown (this outbox never handed it out)'],
    ] as const) {
      const answer = await call(node.baseUrl, 'DELETE', `/dead-letters/${id}`);
      expect({ id, status: answer.status, error: answer.json.error }).toEqual({
        id,
        status: 404,
        error: { code: 'not_dead_lettered', message: `delivery ${id} is ${status}, not a dead letter: there is nothing to cancel` },
      });
    }
    expect((await call(node.baseUrl, 'GET', `/deliveries/${inFlight}`)).json.status).toBe('in-flight');
    for (const bad of ['abc', '0', '1.5', '-1', '99999999999999999']) {
      const answer = await call(node.baseUrl, 'DELETE', `/dead-letters/${bad}`);
      expect({ bad, status: answer.status, code: answer.json.error?.code }).toEqual({ bad, status: 400, code: 'invalid_delivery_id' });
      expect((await call(node.baseUrl, 'DELETE', `/deliveries/${bad}`)).json.error?.code).toBe('invalid_delivery_id');
    }

    // DELETE /deliveries/:id still cancels only what is in flight, and points at this route for a dead letter.
    const dead = await deadLetter();
    const refused = await call(node.baseUrl, 'DELETE', `/deliveries/${dead}`);
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({ code: 'delivery_not_in_flight', message: expect.stringContaining(`DELETE /dead-letters/${dead} cancels a dead letter`) });
    expect(await listed()).toContain(dead);
    endpoint.set('held', 'accept');
  });
});
