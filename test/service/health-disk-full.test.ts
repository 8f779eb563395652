/**
 * A full disk, for real: SQLite's `max_page_count` on the journal's own connection makes its writes
 * fail with SQLITE_FULL. Each submission then fails within a second with 503 `journal_unavailable`
 * and the reason `disk_full` (not after a 10 s ask timeout), `/healthz` says 503 with the same reason,
 * the outbox is not restarted once per refused submission, and once there is room again the node
 * accepts by itself and delivers everything it accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDatabaseOptions } from '../../journal/sqlite/options.js';
import { acquireDatabase, type DatabaseLease } from '../../journal/sqlite/shared-database.js';
import { waitUntil } from '../support/eventually.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call, type Answer } from './support/requests.js';
import { getJson, tempDataDir } from './support/service-process.js';

const data = tempDataDir('disk-full');
let node: InProcessService;
let endpoint: FlakyEndpoint;
let database: DatabaseLease;

beforeAll(async () => {
  endpoint = await flakyEndpoint();
  node = await startInProcess({ DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '300', REDELIVERY_MAX_INTERVAL_MS: '500' });
  // The same connection the journal writes through (one per file per process).
  database = acquireDatabase('test', validateDatabaseOptions('test', { path: `${data.dir}/steadfast.db` }));
});

afterAll(async () => {
  await database?.release();
  await node?.stop();
  await endpoint?.close();
  data.remove();
});

async function submit(n: number): Promise<Answer & { ms: number }> {
  const started = performance.now();
  const answer = await call(node.baseUrl, 'POST', '/messages', {
    body: { destination: { transport: 'http', url: endpoint.url }, payload: { n, filler: 'x'.repeat(3000) }, idempotencyKey: `disk-full-${n}` },
  });
  return { ...answer, ms: performance.now() - started };
}

describe('SQLite disk full (max_page_count)', () => {
  it('refuses within a second with journal_unavailable/disk_full, reports it on /healthz, and accepts again once there is room', async () => {
    expect(await getJson(node.baseUrl, '/healthz')).toMatchObject({ status: 200, json: { status: 'ok', checks: { journal: { ok: true, reason: 'writable' } } } });
    const pages = database.db.pragma('page_count', { simple: true }) as number;
    database.db.pragma(`max_page_count = ${pages + 2}`);

    const accepted: number[] = [];
    let first: (Answer & { ms: number }) | undefined;
    let n = 0;
    while (first === undefined && n < 200) {
      const answer = await submit(n);
      if (answer.status === 202) accepted.push(n);
      else first = answer;
      n++;
    }
    expect(first, 'a write met the full database').toBeDefined();
    // The outbox answers the failed write at once; before, the caller waited for the 10 s ask timeout.
    expect(first!.ms).toBeLessThan(1000);
    expect(first!.status).toBe(503);
    expect(first!.json.error).toMatchObject({ code: 'journal_unavailable', reason: 'disk_full', message: expect.stringMatching(/disk_full/) });
    expect(first!.headers['retry-after']).toBeDefined();

    const health = await getJson(node.baseUrl, '/healthz');
    expect(health).toMatchObject({ status: 503, json: { status: 'unavailable', role: 'active', checks: { journal: { ok: false, reason: 'disk_full' } } } });

    const restartsBefore = node.lines.filter((line) => line.msg === 'outbox stopped; restarting it after backoff').length;
    const refused: (Answer & { ms: number })[] = [];
    for (let i = 0; i < 20; i++) refused.push(await submit(1000 + i));
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.json.error).toMatchObject({ code: 'journal_unavailable', reason: 'disk_full' });
      expect(answer.ms).toBeLessThan(1000);
    }
    // Refused without asking the outbox: it is not restarted once per submission.
    const restarts = node.lines.filter((line) => line.msg === 'outbox stopped; restarting it after backoff').length - restartsBefore;
    expect(restarts).toBeLessThan(5);
    expect(node.lines.some((line) => line.msg.startsWith('the journal failed (disk_full)'))).toBe(true);

    database.db.pragma('max_page_count = 1073741823');
    await waitUntil('the node accepts again', async () => (await getJson(node.baseUrl, '/healthz')).status === 200, 30_000);
    expect(await getJson(node.baseUrl, '/healthz')).toMatchObject({ json: { status: 'ok', checks: { journal: { ok: true }, outbox: { ok: true, reason: 'running' } } } });
    const again = await submit(n);
    expect(again.status).toBe(202);
    accepted.push(n);
    const delivered = () => new Set(endpoint.accepted.map((body) => (body as { n: number }).n));
    await waitUntil('everything accepted was delivered', () => accepted.every((each) => delivered().has(each)), 30_000);
  });
});
