/**
 * An OpenTelemetry SDK for tests in this process: every span is exported at once (SimpleSpanProcessor)
 * to memory, contexts follow async calls (AsyncLocalStorage). `uninstall` puts the API back to its
 * no-SDK state, so the next file in the same worker starts clean.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface InstalledTracing {
  readonly exporter: InMemorySpanExporter;
  spans(name?: string): ReadableSpan[];
  uninstall(): Promise<void>;
}

export function installTracing(): InstalledTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager) || !trace.setGlobalTracerProvider(provider)) throw new Error('an OpenTelemetry SDK was registered already');
  return {
    exporter,
    spans: (name) => exporter.getFinishedSpans().filter((span) => name === undefined || span.name === name),
    uninstall: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

/** `00-<trace>-<span>-<flags>` split into its ids. */
export function idsOf(traceparent: unknown): { traceId: string; parentId: string } {
  if (typeof traceparent !== 'string') throw new Error(`no traceparent: ${String(traceparent)}`);
  const [, traceId, parentId] = traceparent.split('-');
  return { traceId: traceId!, parentId: parentId! };
}
