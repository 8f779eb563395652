/**
 * The spans of a delivery (tracer "steadfast"): `steadfast.accept` (the persist of the delivery),
 * `steadfast.attempt` (one per send, the parent of what goes on the wire), `steadfast.confirm` (the
 * confirmation, persisted) and, on the receiving side, `steadfast.consume` (the handler runs in it).
 *
 * A delivery keeps its trace as a W3C carrier (the accept span's id, or the received traceparent when
 * nothing records), so the attempts of a later incarnation, after a crash, join the same trace.
 * Without an SDK the API's spans do not record: then no span is made at all and the carrier is passed
 * on unchanged; without the API installed likewise. Spans never start from the ambient context inside
 * an actor (whichever message woke the dispatcher would leak into it), only from a delivery's carrier.
 */
import { loadOpenTelemetry, SPAN_KIND, SPAN_STATUS, type OpenTelemetryApi, type OtelAttributes, type OtelContext, type OtelSpan, type OtelTracer } from './open-telemetry.js';
import { formatTraceparent, parseTraceparent, traceIdOf, type TraceCarrier } from './trace-context.js';

export const TRACER_NAME = 'steadfast';

/** One attempt's span: run the send inside it, then report how it went. */
export interface AttemptSpan {
  /** What goes on the wire: this attempt's span id in the delivery's trace (and its tracestate). */
  readonly carrier: TraceCarrier;
  run<R>(send: () => R): R;
  succeeded(): void;
  failed(error: unknown): void;
}

/** The accept span (opened by the caller of `send`, closed when the delivery is persisted). */
export interface AcceptSpan {
  /** What the delivery keeps: the accept span's id in the trace (undefined: no trace at all). */
  readonly carrier: TraceCarrier | undefined;
  accepted(deliveryId: number, duplicate: boolean): void;
  failed(error: unknown): void;
}

const NO_OP = (): void => {};

export class DeliveryTracing {
  readonly #api: OpenTelemetryApi | undefined;
  #tracer: OtelTracer | undefined;
  #tracerOf: unknown;
  /**
   * The parent context of each carrier in use: a delivery's attempts and its confirmation share its
   * carrier object, and rebuilding the context from the text (the API's setSpanContext) costs ~3 µs.
   */
  readonly #contexts = new WeakMap<TraceCarrier, OtelContext>();

  /** `api`: the loaded `@opentelemetry/api`, or undefined (not installed: propagation only). */
  constructor(api: OpenTelemetryApi | undefined) {
    this.#api = api;
  }

  /** Whether `@opentelemetry/api` was found. */
  get available(): boolean {
    return this.#api !== undefined;
  }

  /**
   * The tracer of the registered SDK, or undefined when none is (or no API): then nothing would record
   * and no span is made at all, so tracing disabled costs a property read per message. The API's
   * provider is a proxy; its delegate is set once (a new proxy after `trace.disable()`), so the tracer
   * is kept for as long as the proxy is the same.
   */
  get #tracerOrUndefined(): OtelTracer | undefined {
    const api = this.#api;
    if (api === undefined) return undefined;
    const provider = api.trace.getTracerProvider() as { getDelegateTracer?: (name: string) => OtelTracer | undefined };
    if (this.#tracer !== undefined && this.#tracerOf === provider) return this.#tracer;
    const tracer = typeof provider.getDelegateTracer === 'function' ? provider.getDelegateTracer(TRACER_NAME) : api.trace.getTracer(TRACER_NAME);
    if (tracer === undefined) return undefined;
    this.#tracer = tracer;
    this.#tracerOf = provider;
    return tracer;
  }

  /**
   * The OpenTelemetry context whose (remote) parent is `carrier`, for code that continues a delivery's
   * trace; the root context without a carrier; undefined without the API.
   */
  contextOf(carrier: TraceCarrier | undefined): OtelContext | undefined {
    const api = this.#api;
    if (api === undefined) return undefined;
    if (carrier === undefined) return api.ROOT_CONTEXT;
    const known = this.#contexts.get(carrier);
    if (known !== undefined) return known;
    const fields = parseTraceparent(carrier.traceparent);
    if (!fields) return api.ROOT_CONTEXT;
    const traceState = carrier.tracestate !== undefined ? api.createTraceState?.(carrier.tracestate) : undefined;
    const context = api.trace.setSpanContext(api.ROOT_CONTEXT, { ...fields, isRemote: true, ...(traceState !== undefined ? { traceState } : {}) });
    this.#contexts.set(carrier, context);
    return context;
  }

  /** The active context's span as a carrier (for `deliver(..., { trace })`), or undefined. */
  activeCarrier(): TraceCarrier | undefined {
    const api = this.#api;
    if (api === undefined) return undefined;
    const spanContext = api.trace.getSpanContext(api.context.active());
    if (spanContext === undefined) return undefined;
    const carrier = { traceparent: formatTraceparent(spanContext.traceId, spanContext.spanId, spanContext.traceFlags) };
    return parseTraceparent(carrier.traceparent) ? carrier : undefined;
  }

  /**
   * Opens the accept span under `explicit` (a received traceparent) or else the caller's active
   * context. Undefined when there is no trace at all (nothing records and no parent).
   */
  startAccept(explicit: TraceCarrier | undefined, attributes: OtelAttributes): AcceptSpan | undefined {
    const tracer = this.#tracerOrUndefined;
    if (tracer === undefined) return untracedAccept(explicit ?? this.activeCarrier());
    const active = this.#api!.context.active();
    // A server span that continues the same trace (an HTTP instrumentation read the same header) is the closer parent.
    const continuesIt = explicit !== undefined && this.#api!.trace.getSpanContext(active)?.traceId === traceIdOf(explicit);
    const parent = explicit === undefined || continuesIt ? active : this.contextOf(explicit);
    const span = tracer.startSpan('steadfast.accept', { kind: SPAN_KIND.producer, attributes }, parent);
    if (!span.isRecording()) {
      span.end();
      return untracedAccept(explicit ?? this.activeCarrier());
    }
    const carrier = carrierOf(span, explicit);
    // The attempts and the confirmation of this process start from it without parsing it again.
    this.#contexts.set(carrier, this.#api!.trace.setSpan(this.#api!.ROOT_CONTEXT, span));
    return {
      carrier,
      accepted: (deliveryId, duplicate) => {
        span.setAttributes({ 'steadfast.delivery_id': deliveryId, 'steadfast.duplicate': duplicate });
        span.end();
      },
      failed: (error) => endFailed(span, error),
    };
  }

  /**
   * Opens an attempt's span under the delivery's carrier (a root span when it has none and an SDK
   * records). Undefined when neither: then nothing is sent but what the delivery has (nothing).
   */
  startAttempt(parent: TraceCarrier | undefined, attributes: () => OtelAttributes): AttemptSpan | undefined {
    const tracer = this.#tracerOrUndefined;
    if (tracer === undefined) return parent && passThrough(parent);
    const span = tracer.startSpan('steadfast.attempt', { kind: SPAN_KIND.producer }, this.contextOf(parent));
    if (!span.isRecording()) {
      span.end();
      return parent && passThrough(parent);
    }
    span.setAttributes(attributes());
    const api = this.#api!;
    const context = api.trace.setSpan(api.ROOT_CONTEXT, span);
    return {
      carrier: carrierOf(span, parent),
      // Instrumentations of the transport's client (HTTP, amqplib) then nest under the attempt.
      run: (send) => api.context.with(context, send),
      succeeded: () => {
        span.setStatus({ code: SPAN_STATUS.ok });
        span.end();
      },
      failed: (error) => endFailed(span, error),
    };
  }

  /** The confirmation of a delivery, persisted: from when it arrived (`since`, epoch ms) until now. */
  confirmed(parent: TraceCarrier, since: number | undefined, attributes: OtelAttributes): void {
    const tracer = this.#tracerOrUndefined;
    if (tracer === undefined) return;
    const span = tracer.startSpan('steadfast.confirm', { kind: SPAN_KIND.internal, attributes, ...(since !== undefined ? { startTime: since } : {}) }, this.contextOf(parent));
    span.end();
  }

  /**
   * Runs a consumer's handler inside a `steadfast.consume` span whose parent is the received
   * `carrier`, so the handler's own spans join the sender's trace. `handle` gets the carrier of that
   * span (or the received one) to hand on, e.g. to an entity.
   */
  consume<R>(carrier: TraceCarrier | undefined, attributes: () => OtelAttributes, handle: (carrier: TraceCarrier | undefined) => Promise<R>): Promise<R> {
    const api = this.#api;
    if (api === undefined || carrier === undefined) return handle(carrier);
    const tracer = this.#tracerOrUndefined;
    const span = tracer?.startSpan('steadfast.consume', { kind: SPAN_KIND.consumer }, this.contextOf(carrier));
    if (span === undefined || !span.isRecording()) {
      span?.end();
      // Still under the received parent, so what the handler itself traces joins the sender's trace.
      return api.context.with(this.contextOf(carrier)!, () => handle(carrier));
    }
    span.setAttributes(attributes());
    return api.context
      .with(api.trace.setSpan(api.ROOT_CONTEXT, span), () => handle(carrierOf(span, carrier)))
      .then(
        (result) => {
          span.setStatus({ code: SPAN_STATUS.ok });
          span.end();
          return result;
        },
        (error: unknown) => {
          endFailed(span, error);
          throw error;
        },
      );
  }
}

function untracedAccept(carrier: TraceCarrier | undefined): AcceptSpan | undefined {
  return carrier && { carrier, accepted: NO_OP, failed: NO_OP };
}

function passThrough(carrier: TraceCarrier): AttemptSpan {
  return { carrier, run: (send) => send(), succeeded: NO_OP, failed: NO_OP };
}

function carrierOf(span: OtelSpan, parent: TraceCarrier | undefined): TraceCarrier {
  const { traceId, spanId, traceFlags } = span.spanContext();
  const traceparent = formatTraceparent(traceId, spanId, traceFlags);
  return parent?.tracestate !== undefined ? { traceparent, tracestate: parent.tracestate } : { traceparent };
}

function endFailed(span: OtelSpan, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute('error.type', code);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SPAN_STATUS.error, message });
  span.end();
}

/** The process's tracing: `@opentelemetry/api` if installed, whatever SDK registered with it. */
export const deliveryTracing = new DeliveryTracing(loadOpenTelemetry());

/** The current span of the caller as a W3C carrier, to keep in an event and pass to `deliver(..., { trace })`. */
export function currentTraceCarrier(): TraceCarrier | undefined {
  return deliveryTracing.activeCarrier();
}

/**
 * The OpenTelemetry context whose parent is `carrier` (e.g. `InboundDelivery.trace`), to run code in
 * with `context.with(traceContextOf(trace), ...)`: its spans join the delivery's trace. Undefined
 * when `@opentelemetry/api` is not installed.
 */
export function traceContextOf(carrier: TraceCarrier | undefined): OtelContext | undefined {
  return deliveryTracing.contextOf(carrier);
}
