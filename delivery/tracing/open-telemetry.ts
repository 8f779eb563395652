/**
 * `@opentelemetry/api`, loaded if it is installed (an optional peer dependency) and described here by
 * the few members steadfast uses, so that neither the code nor the published types need the package.
 * Loaded with `require` in a try: a program without it loads steadfast as before, and traces then go
 * only as far as the W3C headers a delivery carries (trace-context.ts).
 */
import { createRequire } from 'node:module';

/** An OpenTelemetry `Context` (the API's `Context` has this shape, so one passes for the other). */
export interface OtelContext {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): OtelContext;
  deleteValue(key: symbol): OtelContext;
}

export interface OtelSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  readonly traceState?: unknown;
}

export type OtelAttributes = Record<string, string | number | boolean>;

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setAttributes(attributes: OtelAttributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): void;
  end(endTime?: number): void;
  isRecording(): boolean;
}

export interface OtelTracer {
  startSpan(name: string, options?: { kind?: number; attributes?: OtelAttributes; startTime?: number }, context?: OtelContext): OtelSpan;
}

/** The part of `@opentelemetry/api` steadfast uses. */
export interface OpenTelemetryApi {
  readonly trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getTracerProvider(): unknown;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    getSpanContext(context: OtelContext): OtelSpanContext | undefined;
  };
  readonly context: {
    active(): OtelContext;
    with<R>(context: OtelContext, fn: () => R): R;
  };
  readonly ROOT_CONTEXT: OtelContext;
  readonly createTraceState?: (raw?: string) => unknown;
}

/** `SpanKind` and `SpanStatusCode` of the API (stable numbers since 1.0). */
export const SPAN_KIND = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;
export const SPAN_STATUS = { unset: 0, ok: 1, error: 2 } as const;

/**
 * The API module, or undefined when it cannot be loaded (not installed). `load` is the `require` to
 * use; tests pass one that cannot find it.
 */
export function loadOpenTelemetry(load: (id: string) => unknown = createRequire(import.meta.url)): OpenTelemetryApi | undefined {
  try {
    const api = load('@opentelemetry/api') as Partial<OpenTelemetryApi> | undefined;
    return api?.trace !== undefined && api.context !== undefined && api.ROOT_CONTEXT !== undefined ? (api as OpenTelemetryApi) : undefined;
  } catch {
    return undefined;
  }
}
