// Preloaded into a service child process (`NODE_OPTIONS=--import <this file>`): registers an
// OpenTelemetry SDK whose spans are appended, one JSON line each, to OTEL_TEST_SPANS_FILE as soon as
// they end (synchronously), so a process that is SIGKILLed has still written every span it finished.
import { appendFileSync } from 'node:fs';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const file = process.env.OTEL_TEST_SPANS_FILE;
if (!file) throw new Error('OTEL_TEST_SPANS_FILE is not set');

const fileExporter = {
  export(spans, done) {
    const lines = spans.map((span) =>
      JSON.stringify({
        name: span.name,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
        status: span.status,
        pid: process.pid,
      }),
    );
    appendFileSync(file, `${lines.join('\n')}\n`);
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(fileExporter)] }));
