/**
 * W3C trace headers as deliveries keep them: what is valid, what is ignored, and that tracing works
 * (headers passed on, no spans) when `@opentelemetry/api` cannot be loaded at all.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeliveryTracing } from '../../../delivery/tracing/delivery-tracing.js';
import { loadOpenTelemetry } from '../../../delivery/tracing/open-telemetry.js';
import { parseTraceparent, traceCarrierOf, traceCarrierOfHeaders, validTracestate } from '../../../delivery/tracing/trace-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('traceparent', () => {
  it('parses a valid one', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    expect(traceCarrierOf(VALID)).toEqual({ traceparent: VALID });
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['upper-case hex', VALID.toUpperCase()],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with more fields', `${VALID}-extra`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['no flags', `00-${TRACE_ID}-${SPAN_ID}`],
    ['non-hex', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`],
  ])('ignores a malformed one (%s), and its tracestate with it', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(traceCarrierOf(value, 'vendor=1')).toBeUndefined();
  });

  it('takes a later version by its first four fields, rewritten as version 00', () => {
    expect(traceCarrierOf(`01-${TRACE_ID}-${SPAN_ID}-01-what-comes-later`)).toEqual({ traceparent: VALID });
  });

  it('passes a well-formed tracestate on, drops a malformed or oversized one', () => {
    expect(traceCarrierOf(VALID, 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')).toEqual({ traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' });
    expect(validTracestate('tenant@system=value')).toBe('tenant@system=value');
    expect(validTracestate('no equals sign')).toBeUndefined();
    expect(validTracestate(`a=${'x'.repeat(600)}`)).toBeUndefined();
    expect(traceCarrierOf(VALID, 'Bad Key=1')).toEqual({ traceparent: VALID });
  });

  it('from HTTP headers: one traceparent (two are ignored), tracestate headers joined', () => {
    expect(traceCarrierOfHeaders([VALID], ['a=1', 'b=2'])).toEqual({ traceparent: VALID, tracestate: 'a=1,b=2' });
    expect(traceCarrierOfHeaders([VALID, VALID], undefined)).toBeUndefined();
    expect(traceCarrierOfHeaders(undefined, ['a=1'])).toBeUndefined();
  });
});

describe('without @opentelemetry/api', () => {
  it('the loader answers undefined where the package cannot be found, instead of throwing', () => {
    const nowhere = mkdtempSync(join(tmpdir(), 'steadfast-no-otel-'));
    try {
      expect(loadOpenTelemetry(createRequire(join(nowhere, 'index.js')))).toBeUndefined();
      expect(loadOpenTelemetry(() => ({ notTheApi: true }))).toBeUndefined();
      // And where it is installed (a devDependency here), it is found.
      expect(loadOpenTelemetry()).toBeDefined();
    } finally {
      rmSync(nowhere, { recursive: true, force: true });
    }
  });

  it('deliveries still carry the trace they were given, unchanged; none is made up', async () => {
    const tracing = new DeliveryTracing(undefined);
    expect(tracing.available).toBe(false);
    expect(tracing.startAccept(undefined, {})).toBeUndefined();
    const accept = tracing.startAccept({ traceparent: VALID }, {});
    expect(accept?.carrier).toEqual({ traceparent: VALID });
    expect(tracing.startAttempt(undefined, () => ({}))).toBeUndefined();
    const attempt = tracing.startAttempt({ traceparent: VALID, tracestate: 'a=1' }, () => ({}));
    expect(attempt?.carrier).toEqual({ traceparent: VALID, tracestate: 'a=1' });
    expect(attempt?.run(() => 'sent')).toBe('sent');
    expect(tracing.contextOf({ traceparent: VALID })).toBeUndefined();
    expect(tracing.activeCarrier()).toBeUndefined();
    expect(
      await tracing.consume(
        { traceparent: VALID },
        () => ({}),
        async (carrier) => carrier,
      ),
    ).toEqual({ traceparent: VALID });
  });
});
