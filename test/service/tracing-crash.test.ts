/**
 * The trace of a message survives a crash of the service: a client's traceparent on POST /messages,
 * the service (a child process with an SDK that writes its spans to a file) SIGKILLed while the
 * destination refuses the first attempts, then restarted: the redelivered attempt reaches the sink in
 * the same trace, under an attempt span of the new process whose parent is the first process's
 * accept span. A malformed traceparent is ignored, not refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/eventually.js';
import { traceSink, type TraceSink } from '../delivery/tracing/support/trace-sink.js';
import { idsOf } from '../delivery/tracing/support/in-memory-tracing.js';
import { postJson, REPO_ROOT, ServiceProcess, tempDataDir, type RunningServiceProcess } from './support/service-process.js';

interface ExportedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Record<string, unknown>;
  readonly status: { code: number };
}

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const CLIENT_SPAN = 'eee19b7ec3c1b174';
const data = tempDataDir('tracing-crash');
const preload = join(REPO_ROOT, 'test/service/support/otel-file-preload.mjs');
const running: RunningServiceProcess[] = [];
let sink: TraceSink | undefined;

afterAll(async () => {
  for (const service of running) await service.stop('SIGKILL');
  await sink?.close();
  data.remove();
});

function spansIn(file: string): ExportedSpan[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ExportedSpan);
}

async function startService(spansFile: string): Promise<RunningServiceProcess> {
  const service = await ServiceProcess.start({
    DATA_DIR: data.dir,
    REDELIVER_INTERVAL_MS: '200',
    REDELIVERY_MAX_INTERVAL_MS: '300',
    NODE_OPTIONS: `--import ${preload}`,
    OTEL_TEST_SPANS_FILE: spansFile,
  });
  running.push(service);
  return service;
}

describe('tracing across a crash of the service', () => {
  it('the redelivery after a SIGKILL and a restart continues the client’s trace', async () => {
    let crashed = false;
    sink = await traceSink(() => (crashed ? 200 : 503));
    const firstSpans = join(data.dir, 'spans-1.jsonl');
    const secondSpans = join(data.dir, 'spans-2.jsonl');

    const first = await startService(firstSpans);
    const accepted = await postJson(
      first.baseUrl,
      '/messages',
      { destination: { transport: 'http', url: sink.url }, payload: { order: 1 } },
      { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` },
    );
    expect(accepted.status).toBe(202);
    const refused = await sink.request(1);
    expect(idsOf(refused.traceparent).traceId).toBe(TRACE_ID);
    // Killed once its first (refused) attempt is on file: the answer may still be on its way back.
    await waitUntil('the first process exported its failed attempt', () => spansIn(firstSpans).some((span) => span.name === 'steadfast.attempt'), 30_000);
    await first.stop('SIGKILL');

    const before = spansIn(firstSpans);
    const accept = before.find((span) => span.name === 'steadfast.accept');
    expect(accept).toMatchObject({ traceId: TRACE_ID, parentSpanId: CLIENT_SPAN });
    const failedAttempt = before.find((span) => span.name === 'steadfast.attempt' && span.attributes['steadfast.attempt'] === 1);
    expect(failedAttempt).toMatchObject({ traceId: TRACE_ID, parentSpanId: accept!.spanId, status: { code: 2 }, attributes: { 'http.response.status_code': 503 } });
    expect(idsOf(refused.traceparent).parentId).toBe(failedAttempt!.spanId);

    crashed = true;
    const arrivedBefore = sink.requests.length;
    const second = await startService(secondSpans);
    await sink.request(arrivedBefore + 1);
    await waitUntil('the restarted process exported the confirmation span', () => spansIn(secondSpans).some((span) => span.name === 'steadfast.confirm'), 30_000);

    const after = spansIn(secondSpans);
    const attempts = after.filter((span) => span.name === 'steadfast.attempt');
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    for (const attempt of attempts) expect(attempt).toMatchObject({ traceId: TRACE_ID, parentSpanId: accept!.spanId });
    // What reached the sink since the restart (a request of the killed process may still have landed first).
    const arrivedSince = sink.requests.slice(arrivedBefore).map((headers) => idsOf(headers.traceparent));
    for (const ids of arrivedSince) expect(ids.traceId).toBe(TRACE_ID);
    expect(attempts.some((attempt) => arrivedSince.some((ids) => ids.parentId === attempt.spanId))).toBe(true);
    expect(attempts.at(-1)).toMatchObject({ status: { code: 1 }, attributes: { 'steadfast.delivery_id': accepted.json.deliveryId } });
    expect(after.find((span) => span.name === 'steadfast.confirm')).toMatchObject({ traceId: TRACE_ID, parentSpanId: accept!.spanId });

    // A malformed traceparent: accepted all the same, and the delivery gets a trace of its own.
    const count = sink.requests.length;
    const malformed = await postJson(
      second.baseUrl,
      '/messages',
      { destination: { transport: 'http', url: sink.url }, payload: { order: 2 } },
      { traceparent: `00-${TRACE_ID}-zzzz-01` },
    );
    expect(malformed.status).toBe(202);
    const fresh = idsOf((await sink.request(count + 1)).traceparent);
    expect(fresh.traceId).not.toBe(TRACE_ID);
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
