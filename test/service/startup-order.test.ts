/**
 * The port is bound before recovery starts resending: a busy PORT ends the start (exit 1, one line
 * naming it) before any unconfirmed delivery is sent again; before, it was found only after recovery
 * had resent everything. While the outbox recovers, the API answers 503 `recovering` with Retry-After.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { flakyEndpoint, type FlakyEndpoint } from './support/flaky-endpoint.js';
import { call } from './support/requests.js';
import { getJson, postJson, ServiceProcess, tempDataDir } from './support/service-process.js';

const data = tempDataDir('busy-port');
const longJournal = tempDataDir('long-recovery');
let endpoint: FlakyEndpoint | undefined;
let blocker: Server | undefined;

afterAll(async () => {
  await endpoint?.close();
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  data.remove();
  longJournal.remove();
});

describe('start order', () => {
  it('a busy PORT exits 1 naming it before recovery resends anything', async () => {
    // Every attempt fails: the three deliveries stay unconfirmed and a recovering outbox resends them.
    endpoint = await flakyEndpoint(() => true);
    const env = { DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '600000', REDELIVERY_MAX_INTERVAL_MS: '600000' };
    const first = await ServiceProcess.start(env);
    for (let n = 0; n < 3; n++) {
      expect((await postJson(first.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { n } })).status).toBe(202);
    }
    await waitUntil('each was attempted once', () => endpoint!.requests === 3);
    expect((await first.stop('SIGTERM')).code).toBe(0);

    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const busy = ServiceProcess.spawn({ ...env, PORT: String(port), HOST: '127.0.0.1' });
    expect((await busy.exited).code).toBe(1);
    const fatal = busy.lines.filter((line) => line.level >= 60).map((line) => line.msg);
    expect(fatal).toEqual([expect.stringContaining(`cannot listen on 127.0.0.1:${port}`)]);
    expect(busy.lines.some((line) => line.msg.startsWith('outbox recovered'))).toBe(false);
    expect(endpoint.requests).toBe(3);

    // The same start with the port free does resend them: the check above could have failed.
    await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    blocker = undefined;
    const again = await ServiceProcess.start({ ...env, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await waitUntil('recovery resent the three', () => endpoint!.requests >= 6);
    } finally {
      await again.stop('SIGKILL');
    }
  });

  it('answers 503 recovering with Retry-After while the outbox recovers a long journal, then accepts', async () => {
    const ok = await flakyEndpoint();
    try {
      const env = { DATA_DIR: longJournal.dir };
      const first = await ServiceProcess.start(env);
      const sent = await postJson(first.baseUrl, '/messages', { destination: { transport: 'http', url: ok.url }, payload: { n: 0 } });
      expect(sent.status).toBe(202);
      await waitUntil('confirmed', async () => (await getJson(first.baseUrl, `/deliveries/${String(sent.json.deliveryId)}`)).json.status === 'confirmed');
      expect((await first.stop('SIGTERM')).code).toBe(0);

      // A long tail to replay: copies of the stored `confirmed` event (replaying one changes nothing).
      const db = new Database(join(longJournal.dir, 'steadfast.db'));
      const template = db
        .prepare(`SELECT sequence_nr FROM journal_event WHERE persistence_id = 'outbox' AND CAST(payload AS TEXT) LIKE '%"confirmed"%' ORDER BY sequence_nr DESC LIMIT 1`)
        .get() as { sequence_nr: number };
      const highest = (db.prepare(`SELECT max(sequence_nr) AS highest FROM journal_event WHERE persistence_id = 'outbox'`).get() as { highest: number }).highest;
      db.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000)
         INSERT INTO journal_event (persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags)
         SELECT persistence_id, ? + i, writer_uuid, timestamp, serializer_id, manifest, payload, tags FROM journal_event, n
         WHERE persistence_id = 'outbox' AND sequence_nr = ?`,
      ).run(highest, template.sequence_nr);
      db.close();

      const second = ServiceProcess.spawn({ ...env, PORT: '0' });
      try {
        const bound = await second.waitFor((line) => line.msg.startsWith('port bound'));
        const base = `http://127.0.0.1:${String(bound.port)}`;
        const during = await call(base, 'POST', '/messages', { body: { destination: { transport: 'http', url: ok.url }, payload: { n: 1 } } });
        expect(
          second.lines.some((line) => line.msg.startsWith('outbox recovered')),
          'the answer came while recovering',
        ).toBe(false);
        expect(during.status).toBe(503);
        expect(during.json.error?.code).toBe('recovering');
        expect(Number(during.headers['retry-after'])).toBeGreaterThan(0);
        const health = await getJson(base, '/healthz');
        expect(health).toMatchObject({ status: 503, json: { status: 'unavailable', role: 'active', checks: { outbox: { ok: false, reason: 'recovering' } } } });
        await second.waitFor((line) => line.msg === 'steadfast listening', 120_000);
        expect((await postJson(base, '/messages', { destination: { transport: 'http', url: ok.url }, payload: { n: 2 } })).status).toBe(202);
      } finally {
        await second.stop('SIGKILL');
      }
    } finally {
      await ok.close();
    }
  });
});
