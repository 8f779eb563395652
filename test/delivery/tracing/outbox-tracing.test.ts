/**
 * The trace of an outbox delivery with an OpenTelemetry SDK registered (in memory): a received
 * traceparent is the parent of the accept span, which is the parent of every attempt span and of the
 * confirmation; each attempt's span id is what the destination sees as the parent, in the same trace.
 * The delivery keeps its trace through a restart, from the events and from a snapshot.
 */
import { context as otelContext, trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Outbox, SnapshotSelectionCriteria, type OutboxSnapshot } from '../../../src/index.js';
import { httpTransport } from '../../../delivery/http/index.js';
import { durableObservedStores, Systems } from '../support/delivery-fixtures.js';
import { eventually } from '../../support/eventually.js';
import { idsOf, installTracing, type InstalledTracing } from './support/in-memory-tracing.js';
import { traceSink, type TraceSink } from './support/trace-sink.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const RECEIVED = { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, tracestate: 'vendor=opaque,other=1' };

let tracing: InstalledTracing;
const systems = new Systems();
const sinks: TraceSink[] = [];
const logger = pino({ level: 'silent' });

beforeAll(() => {
  tracing = installTracing();
});
afterAll(() => tracing.uninstall());
afterEach(async () => {
  await systems.terminateAll();
  for (const sink of sinks.splice(0)) await sink.close();
  tracing.exporter.reset();
});

async function sinkAnswering(status: (n: number) => number): Promise<TraceSink> {
  const sink = await traceSink(status);
  sinks.push(sink);
  return sink;
}

function startOutbox(name: string, plugins: ReturnType<typeof durableObservedStores>, snapshotEvery = 1000): Outbox {
  const system = systems.start(name, plugins, { transports: [httpTransport({ timeoutMs: 5000 })], logger });
  return Outbox.start(system, { redeliverInterval: 100, snapshotEvery });
}

const spanOf = (spans: ReturnType<InstalledTracing['spans']>, attempt: number) => spans.find((span) => span.attributes['steadfast.attempt'] === attempt);

describe('an outbox delivery over HTTP, traced', () => {
  it('received traceparent -> accept -> attempts (failed, then ok) -> the sink sees each attempt as parent -> confirmation', async () => {
    const sink = await sinkAnswering((n) => (n === 1 ? 500 : 200));
    const outbox = startOutbox('traced', durableObservedStores());
    const { deliveryId } = await outbox.send({ transport: 'http', url: sink.url }, { order: 1 }, { trace: RECEIVED });
    const confirmSpans = await eventually(
      async () => tracing.spans('steadfast.confirm'),
      (spans) => spans.length === 1,
      20_000,
      'the confirmation span',
    );

    const [accept] = tracing.spans('steadfast.accept');
    expect(accept?.spanContext().traceId).toBe(TRACE_ID);
    expect(accept?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(accept?.attributes).toMatchObject({ 'steadfast.delivery_id': deliveryId, 'steadfast.duplicate': false });

    // Two attempts, or more when the machine is slow to persist the confirmation before the next tick.
    const attempts = await eventually(
      async () => tracing.spans('steadfast.attempt'),
      (spans) => spans.length >= 2 && spans.length === sink.requests.length,
      20_000,
      'an ended attempt span for every request',
    );
    for (const span of attempts) {
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(accept!.spanContext().spanId);
      expect(span.attributes).toMatchObject({ 'steadfast.delivery_id': deliveryId, 'steadfast.transport': 'http', 'server.address': '127.0.0.1' });
    }
    const [first, second] = [spanOf(attempts, 1)!, spanOf(attempts, 2)!];
    expect(first.status.code).toBe(2);
    expect(first.attributes['http.response.status_code']).toBe(500);
    expect(second.status.code).toBe(1);

    for (const [index, headers] of sink.requests.entries()) {
      expect(idsOf(headers.traceparent)).toEqual({ traceId: TRACE_ID, parentId: spanOf(attempts, index + 1)?.spanContext().spanId });
      expect(headers.tracestate).toBe(RECEIVED.tracestate);
    }

    const [confirm] = confirmSpans;
    expect(confirm?.spanContext().traceId).toBe(TRACE_ID);
    expect(confirm?.parentSpanContext?.spanId).toBe(accept!.spanContext().spanId);
    expect(confirm?.attributes).toMatchObject({ 'steadfast.delivery_id': deliveryId, 'steadfast.attempt': attempts.length });
  });

  it('without a traceparent, the active context of the caller of send is the parent', async () => {
    const sink = await sinkAnswering(() => 200);
    const outbox = startOutbox('caller', durableObservedStores());
    const tracer = trace.getTracer('test');
    const caller = await tracer.startActiveSpan('caller', async (span) => {
      await outbox.send({ transport: 'http', url: sink.url }, { order: 2 });
      span.end();
      return span.spanContext();
    });
    const headers = await sink.request(1);
    const [accept] = tracing.spans('steadfast.accept');
    expect(accept?.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(idsOf(headers.traceparent).traceId).toBe(caller.traceId);
  });

  it('with a traceparent and an active span of the same trace (a server span that read the same header), the active span is the parent', async () => {
    const sink = await sinkAnswering(() => 200);
    const outbox = startOutbox('server-span', durableObservedStores());
    const tracer = trace.getTracer('test');
    const remote = trace.setSpanContext(otelContext.active(), { traceId: TRACE_ID, spanId: CALLER_SPAN, traceFlags: 1, isRemote: true });
    const server = await otelContext.with(remote, () =>
      tracer.startActiveSpan('POST /messages', async (span) => {
        await outbox.send({ transport: 'http', url: sink.url }, { order: 5 }, { trace: RECEIVED });
        span.end();
        return span.spanContext();
      }),
    );
    await sink.request(1);
    const [accept] = tracing.spans('steadfast.accept');
    expect(accept?.parentSpanContext?.spanId).toBe(server.spanId);
    expect(accept?.spanContext().traceId).toBe(TRACE_ID);
  });

  it('a malformed traceparent is ignored: the delivery starts a trace of its own', async () => {
    const sink = await sinkAnswering(() => 200);
    const outbox = startOutbox('malformed', durableObservedStores());
    await outbox.send({ transport: 'http', url: sink.url }, { order: 3 }, { trace: { traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01` } });
    const headers = await sink.request(1);
    const [accept] = tracing.spans('steadfast.accept');
    expect(accept?.parentSpanContext).toBeUndefined();
    expect(idsOf(headers.traceparent).traceId).toBe(accept?.spanContext().traceId);
    expect(headers.tracestate).toBeUndefined();
  });

  for (const [how, snapshotEvery] of [
    ['from its events', 1000],
    ['from a snapshot', 1],
  ] as const) {
    it(`keeps the trace across a restart (recovered ${how}): the next incarnation's attempts continue it`, async () => {
      let refusing = true;
      const sink = await sinkAnswering(() => (refusing ? 503 : 200));
      const plugins = durableObservedStores();
      const first = startOutbox(`before-${snapshotEvery}`, plugins, snapshotEvery);
      await first.send({ transport: 'http', url: sink.url }, { order: 4 }, { trace: RECEIVED });
      await sink.request(1);
      const [accept] = tracing.spans('steadfast.accept');
      await systems.terminateAll();
      if (snapshotEvery === 1) {
        const stored = await plugins.snapshotStore.load('outbox', SnapshotSelectionCriteria.latest);
        const snapshot = JSON.parse(String(stored?.snapshot.payload)) as OutboxSnapshot;
        expect(snapshot.delivery.unconfirmedDeliveries[0]?.trace).toEqual({ traceparent: `00-${TRACE_ID}-${accept!.spanContext().spanId}-01`, tracestate: RECEIVED.tracestate });
      }
      const before = sink.requests.length;
      refusing = false;
      tracing.exporter.reset();
      const second = startOutbox(`after-${snapshotEvery}`, plugins, snapshotEvery);
      const headers = await sink.request(before + 1);
      await eventually(
        () => second.stats(),
        (stats) => stats.inFlight === 0,
        20_000,
        'the confirmation',
      );
      const { traceId, parentId } = idsOf(headers.traceparent);
      expect(traceId).toBe(TRACE_ID);
      const attempt = tracing.spans('steadfast.attempt').find((span) => span.spanContext().spanId === parentId);
      expect(attempt?.parentSpanContext?.spanId).toBe(accept!.spanContext().spanId);
      expect(headers.tracestate).toBe(RECEIVED.tracestate);
    });
  }
});
