/**
 * Projections an embedding program starts with the service's actor system show in `/metrics`: their
 * offset, their lag behind the journal, and their state, one series per projection (its name a label,
 * escaped); a projection stopped by `stop()` leaves, one whose handler failed for good stays as
 * `stopped`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventEnvelope, type ProjectionHandle, type ReadJournal, startProjection } from '../../src/index.js';
import { waitUntil } from '../support/eventually.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call } from './support/requests.js';
import { tempDataDir } from './support/service-process.js';

const data = tempDataDir('projection-metrics');
let node: InProcessService;
let endpoint: FlakyEndpoint;

beforeAll(async () => {
  endpoint = await flakyEndpoint();
  node = await startInProcess({ DATA_DIR: data.dir });
});

afterAll(async () => {
  await node?.stop();
  await endpoint?.close();
  data.remove();
});

const everything = (readJournal: ReadJournal, offset: number, options: { signal?: AbortSignal }) => readJournal.allEvents(offset, options);

async function submit(n: number): Promise<void> {
  const answer = await call(node.baseUrl, 'POST', '/messages', {
    body: { destination: { transport: 'http', url: endpoint.url }, payload: { n }, idempotencyKey: `projection-metrics-${n}` },
  });
  expect(answer.status).toBe(202);
}

/** The samples of `name` in `/metrics`, by their label text (e.g. `projection="audit"`). */
async function samples(name: string): Promise<Map<string, number>> {
  const text = (await call(node.baseUrl, 'GET', '/metrics')).text;
  const found = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}\\{(.*)\\} (\\S+)$`, 'gm'))) found.set(match[1]!, Number(match[2]));
  return found;
}

describe('service /metrics: projections', () => {
  it('reports offset, lag and state of each projection of the service system, live', async () => {
    const system = node.service.system;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: EventEnvelope[] = [];
    const blocked = startProjection(system, {
      name: 'orders "eu"',
      query: everything,
      handler: async () => {
        await gate;
      },
    });
    const audit = startProjection(system, { name: 'audit', query: everything, handler: (envelope) => void seen.push(envelope) });
    for (let n = 0; n < 5; n++) await submit(n);

    const blockedLabel = 'projection="orders \\"eu\\""';
    // The follower catches up (lag 0) while the blocked one stays at offset 0, behind by what was written.
    await waitUntil('audit caught up', async () => {
      const lag = await samples('steadfast_projection_lag');
      return lag.get('projection="audit"') === 0 && (lag.get(blockedLabel) ?? 0) > 0;
    });
    const offsets = await samples('steadfast_projection_offset');
    expect(offsets.get('projection="audit"')).toBe(audit.offset);
    expect(audit.offset).toBeGreaterThanOrEqual(seen.at(-1)!.offset);
    expect(offsets.get(blockedLabel)).toBe(0);
    const states = await samples('steadfast_projection_state');
    expect(states.get(`${blockedLabel},state="running"`)).toBe(1);
    expect(states.get(`${blockedLabel},state="stopped"`)).toBe(0);

    release();
    await waitUntil('the blocked projection caught up', async () => (await samples('steadfast_projection_lag')).get(blockedLabel) === 0);
    expect((await samples('steadfast_projection_offset')).get(blockedLabel)).toBe(blocked.offset);

    // Stopped on purpose: gone. Failed: kept, as stopped, with its offset, for alerts to see.
    await audit.stop();
    const failing: ProjectionHandle = startProjection(system, {
      name: 'broken',
      query: everything,
      retry: { maxRetries: 0 },
      handler: () => {
        throw new Error('read model down');
      },
    });
    await expect(failing.done).rejects.toMatchObject({ code: 'ERR_PROJECTION_FAILED' });
    const after = await samples('steadfast_projection_state');
    expect([...after.keys()].some((labels) => labels.startsWith('projection="audit"'))).toBe(false);
    expect(after.get('projection="broken",state="stopped"')).toBe(1);
    expect((await samples('steadfast_projection_lag')).get('projection="broken"')).toBeGreaterThan(0);
    await blocked.stop();
  });
});
