/**
 * With `@opentelemetry/api` installed but no SDK registered (the default for most users): no span is
 * made, a received traceparent reaches the destination unchanged on every attempt, and a delivery
 * without one sends no trace headers at all.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/index.js';
import { httpTransport } from '../../../delivery/http/index.js';
import { deliveryTracing } from '../../../delivery/tracing/delivery-tracing.js';
import { stores, Systems } from '../support/delivery-fixtures.js';
import { traceSink, type TraceSink } from './support/trace-sink.js';

const systems = new Systems();
const sinks: TraceSink[] = [];
afterEach(async () => {
  await systems.terminateAll();
  for (const sink of sinks.splice(0)) await sink.close();
});

describe('propagation without an SDK', () => {
  it('passes the received traceparent and tracestate on unchanged, also on a redelivery; untraced deliveries send none', async () => {
    expect(deliveryTracing.available).toBe(true);
    const sink = await traceSink((n) => (n === 1 ? 500 : 200));
    sinks.push(sink);
    const system = systems.start('no-sdk', stores(), { transports: [httpTransport()], logger: pino({ level: 'silent' }) });
    const outbox = Outbox.start(system, { redeliverInterval: 100 });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await outbox.send({ transport: 'http', url: sink.url }, { traced: true }, { trace: { traceparent, tracestate: 'vendor=1' } });
    const [first, second] = [await sink.request(1), await sink.request(2)];
    for (const headers of [first, second]) {
      expect(headers.traceparent).toBe(traceparent);
      expect(headers.tracestate).toBe('vendor=1');
    }
    await outbox.send({ transport: 'http', url: sink.url }, { traced: false });
    const untraced = await sink.request(3);
    expect(untraced.traceparent).toBeUndefined();
    expect(untraced.tracestate).toBeUndefined();
  });
});
