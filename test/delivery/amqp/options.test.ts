import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/actor/errors.js';
import { amqpConsumer, amqpTransport, exchangeDestination, queueDestination } from '../../../delivery/amqp/index.js';
import { validateTopology } from '../../../delivery/amqp/topology.js';
import type { TransportDestination } from '../../../delivery/transport.js';

const transport = amqpTransport({ url: 'amqp://127.0.0.1', serviceName: 'svc' });

function rejects(destination: unknown): string {
  try {
    transport.validateDestination(destination as TransportDestination);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    return (error as Error).message;
  }
  throw new Error('expected the destination to be rejected');
}

describe('amqp destinations', () => {
  it('accepts exchange and queue destinations, with either confirm mode', () => {
    expect(() => transport.validateDestination({ transport: 'amqp', exchange: 'orders', routingKey: 'created' })).not.toThrow();
    expect(() => transport.validateDestination({ transport: 'amqp', exchange: 'orders', routingKey: '', confirm: 'broker' })).not.toThrow();
    expect(() => transport.validateDestination({ transport: 'amqp', queue: 'q', confirm: 'consumer' })).not.toThrow();
    expect(exchangeDestination('x', 'k', 'broker')).toEqual({ transport: 'amqp', exchange: 'x', routingKey: 'k', confirm: 'broker' });
    expect(queueDestination('q')).toEqual({ transport: 'amqp', queue: 'q' });
    expect(transport.replyQueue).toBe('svc.replies');
  });

  it('names the offending field', () => {
    expect(rejects({ transport: 'http', queue: 'q' })).toContain('destination.transport');
    expect(rejects({ transport: 'amqp' })).toContain('destination.exchange');
    expect(rejects({ transport: 'amqp', exchange: 'x', routingKey: 'k', queue: 'q' })).toContain('not both');
    expect(rejects({ transport: 'amqp', exchange: 'x' })).toContain('destination.routingKey');
    expect(rejects({ transport: 'amqp', exchange: '', routingKey: 'k' })).toContain('destination.exchange must not be empty');
    expect(rejects({ transport: 'amqp', queue: 'q', confirm: 'never' })).toContain('destination.confirm');
    expect(rejects({ transport: 'amqp', queue: 'q', routingKey: 'k' })).toContain('destination.routingKey');
    expect(rejects({ transport: 'amqp', queue: 'q', exchnage: 'typo' })).toContain('destination.exchnage');
    expect(rejects({ transport: 'amqp', queue: 'x'.repeat(256) })).toContain('255 bytes');
    expect(rejects('amqp://q')).toContain('plain object');
  });
});

describe('amqp options', () => {
  it('validates transport options at the edge', () => {
    expect(() => amqpTransport({ serviceName: 'svc' })).toThrow(/exactly one of options.url and options.connection/);
    expect(() => amqpTransport({ url: 'amqp://h', serviceName: '' })).toThrow(/options.serviceName must not be empty/);
    expect(() => amqpTransport({ url: 'amqp://h', serviceName: 's', publishTimeoutMs: 0 })).toThrow(/options.publishTimeoutMs/);
    expect(() => amqpTransport({ url: 'amqp://h', serviceName: 's', maxInFlight: 1.5 })).toThrow(/options.maxInFlight must be an integer/);
    expect(() => amqpTransport({ url: 'amqp://h', serviceName: 's', reconnect: { minDelayMs: 10, maxDelayMs: 5 } })).toThrow(/options.reconnect.maxDelayMs/);
  });

  it('validates consumer options at the edge', () => {
    const handler = async () => {};
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler: undefined as never })).toThrow(/options.handler is required/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: '', handler })).toThrow(/options.queue must not be empty/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler, prefetch: 0 })).toThrow(/options.prefetch/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler, maxAttempts: 0 })).toThrow(/options.maxAttempts/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler, queueType: 'stream' as never })).toThrow(/options.queueType must be one of/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler, deadLetterQueue: 'q' })).toThrow(/must differ/);
    expect(() => amqpConsumer({ url: 'amqp://h', queue: 'q', handler, manifests: [1] as never })).toThrow(/options.manifests/);
    const consumer = amqpConsumer({ url: 'amqp://h', queue: 'q', handler });
    expect(consumer.deadLetterQueue).toBe('q.dead-letter');
  });

  it('validates topology descriptions, naming the entry', () => {
    expect(
      validateTopology({
        exchanges: [{ name: 'x', type: 'topic' }],
        queues: [{ name: 'q', deadLetterExchange: 'dlx' }],
        bindings: [{ exchange: 'x', queue: 'q', routingKey: 'a.*' }],
      }),
    ).toEqual({
      exchanges: [{ name: 'x', type: 'topic', durable: true, autoDelete: false }],
      queues: [{ name: 'q', durable: true, type: 'classic', deadLetterExchange: 'dlx' }],
      bindings: [{ exchange: 'x', queue: 'q', routingKey: 'a.*' }],
    });
    expect(() => validateTopology({ exchanges: [{ name: 'x', type: 'nope' }] })).toThrow(/topology.exchanges\[0\].type/);
    expect(() => validateTopology({ queues: [{ name: 'q', type: 'quorum', durable: false }] })).toThrow(/topology.queues\[0\]: quorum queues are always durable/);
    expect(() => validateTopology({ bindings: [{ exchange: 'x' }] })).toThrow(/topology.bindings\[0\].queue/);
    expect(() => validateTopology({ queues: [{ name: 'q', arguments: { 'x-max-length': {} } }] })).toThrow(/topology.queues\[0\].arguments.x-max-length/);
  });
});
