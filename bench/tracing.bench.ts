/**
 * What tracing costs (issue 19). The HTTP-delivery workload of bench/http-workload.ts (Outbox on
 * PostgreSQL, httpTransport, local sink) in alternating rounds: tracing disabled (the API installed,
 * no SDK: what most users run) and with an OpenTelemetry SDK (BasicTracerProvider, a BatchSpanProcessor
 * and an exporter that drops the spans, AsyncLocalStorage contexts), where every message gets a trace
 * (its accept span is the root) with its accept, attempt and confirmation spans. Plus the disabled path on its
 * own: the cost per message of asking for the spans when nothing records.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Benchmark, BenchResult } from './harness.js';
import { comparison, cpuRow, MESSAGES, outboxRound, ROUNDS, startSink, type RoundResult } from './http-workload.js';
import { deliveryTracing } from '../delivery/tracing/delivery-tracing.js';

/** Spans go nowhere: the cost measured is steadfast's and the SDK's, not a collector's. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** `contexts`: register the AsyncLocalStorage context manager too (what a real setup does; it costs on every async hop, traced or not). */
async function withSdk<T>(contexts: boolean, run: () => Promise<T>): Promise<{ result: T; spans: number }> {
  const exporter = new DroppingExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 2048 })] });
  if (contexts) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  try {
    const result = await run();
    await provider.forceFlush();
    return { result, spans: exporter.exported };
  } finally {
    await provider.shutdown();
    trace.disable();
    context.disable();
  }
}

/** ns per message of the spans asked for with no SDK: one accept and one attempt, as a delivery does. */
function disabledPathNanos(iterations = 1_000_000): number {
  const attributes = { 'steadfast.outbox': 'outbox' };
  const describe = () => attributes;
  for (let i = 0; i < 10_000; i++) deliveryTracing.startAttempt(deliveryTracing.startAccept(undefined, attributes)?.carrier, describe);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) deliveryTracing.startAttempt(deliveryTracing.startAccept(undefined, attributes)?.carrier, describe);
  return Number(process.hrtime.bigint() - started) / iterations;
}

async function tracingCost(): Promise<readonly BenchResult[]> {
  const sink = await startSink();
  try {
    const disabled: RoundResult[] = [];
    const enabled: RoundResult[] = [];
    const spansOnly: RoundResult[] = [];
    let spans = 0;
    for (let round = 0; round < ROUNDS; round++) {
      disabled.push(await outboxRound(sink));
      const traced = await withSdk(true, () => outboxRound(sink));
      enabled.push(traced.result);
      spans += traced.spans;
      spansOnly.push((await withSdk(false, () => outboxRound(sink))).result);
    }
    const label = `HTTP delivery, PostgreSQL, ${MESSAGES} x ~200 B`;
    return [
      comparison(`${label}: with an OpenTelemetry SDK / tracing disabled (${Math.round(spans / ROUNDS)} spans a round)`, enabled, disabled),
      comparison(`${label}: SDK without a context manager (spans only) / tracing disabled`, spansOnly, disabled),
      cpuRow(`${label}, tracing disabled`, disabled),
      cpuRow(`${label}, with an SDK`, enabled),
      cpuRow(`${label}, SDK without a context manager`, spansOnly),
      { name: 'tracing disabled (API, no SDK): accept + attempt span asked for, per message', value: Math.round(disabledPathNanos()), unit: 'ns/message' },
    ];
  } finally {
    await sink.close();
  }
}

export const benchmarks: Benchmark[] = [{ name: 'tracing: HTTP delivery, PostgreSQL, SDK / disabled', needs: ['postgres'], run: tracingCost }];
