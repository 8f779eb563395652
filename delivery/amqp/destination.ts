/**
 * RabbitMQ destinations as plain data (they live in delivery snapshots and journals), and their
 * validation. A destination names either an exchange + routing key or a queue (published through the
 * default exchange), and how the delivery counts as confirmed.
 */
import { InvalidOptionError } from '../../src/actor/errors.js';
import type { TransportDestination } from '../transport.js';
import { isPlainObject, typeName } from './options.js';

/** 'consumer': confirmed by the receiver's reply (end to end). 'broker': by the publisher confirm (for non-steadfast receivers). */
export type ConfirmMode = 'consumer' | 'broker';

export type AmqpExchangeDestination = TransportDestination<'amqp'> & {
  readonly transport: 'amqp';
  readonly exchange: string;
  readonly routingKey: string;
  readonly confirm?: ConfirmMode;
};

export type AmqpQueueDestination = TransportDestination<'amqp'> & {
  readonly transport: 'amqp';
  readonly queue: string;
  readonly confirm?: ConfirmMode;
};

export type AmqpDestination = AmqpExchangeDestination | AmqpQueueDestination;

declare module '../transport.js' {
  /** Registers the RabbitMQ transport's destinations (see TransportNames). */
  interface TransportNames {
    amqp: AmqpDestination;
  }
}

/** What a publish needs, resolved from a destination. */
export interface ResolvedDestination {
  readonly exchange: string;
  readonly routingKey: string;
  readonly confirm: ConfirmMode;
  /** For log lines and once-per-destination bookkeeping. */
  readonly label: string;
}

export function exchangeDestination(exchange: string, routingKey: string, confirm?: ConfirmMode): AmqpExchangeDestination {
  const destination: AmqpExchangeDestination = confirm ? { transport: 'amqp', exchange, routingKey, confirm } : { transport: 'amqp', exchange, routingKey };
  resolveDestination(destination);
  return destination;
}

export function queueDestination(queue: string, confirm?: ConfirmMode): AmqpQueueDestination {
  const destination: AmqpQueueDestination = confirm ? { transport: 'amqp', queue, confirm } : { transport: 'amqp', queue };
  resolveDestination(destination);
  return destination;
}

const allowedFields = new Set(['transport', 'exchange', 'routingKey', 'queue', 'confirm']);

/** Validates and resolves; throws InvalidOptionError naming the field. */
export function resolveDestination(destination: unknown): ResolvedDestination {
  if (!isPlainObject(destination)) throw new InvalidOptionError(`amqp destination must be a plain object, got ${typeName(destination)}`);
  if (destination.transport !== 'amqp') {
    throw new InvalidOptionError(`destination.transport must be 'amqp', got ${JSON.stringify(destination.transport)}`);
  }
  for (const key of Object.keys(destination)) {
    if (!allowedFields.has(key)) throw new InvalidOptionError(`destination.${key} is not a field of an amqp destination (use exchange + routingKey, or queue; confirm)`);
  }
  const confirm = destination.confirm ?? 'consumer';
  if (confirm !== 'consumer' && confirm !== 'broker') {
    throw new InvalidOptionError(`destination.confirm must be 'consumer' or 'broker', got ${JSON.stringify(destination.confirm)}`);
  }
  const hasExchange = destination.exchange !== undefined;
  const hasQueue = destination.queue !== undefined;
  if (hasExchange === hasQueue) {
    throw new InvalidOptionError('an amqp destination needs either destination.exchange (with destination.routingKey) or destination.queue, not both or neither');
  }
  if (hasQueue) {
    const queue = shortString(destination.queue, 'destination.queue', false);
    if (destination.routingKey !== undefined) throw new InvalidOptionError('destination.routingKey is only used with destination.exchange');
    return { exchange: '', routingKey: queue, confirm, label: `queue ${queue}` };
  }
  // The default exchange '' is reachable with { queue } instead; an explicit '' here is almost always a bug.
  const exchange = shortString(destination.exchange, 'destination.exchange', false);
  const routingKey = shortString(destination.routingKey, 'destination.routingKey', true);
  return { exchange, routingKey, confirm, label: `exchange ${exchange} / ${routingKey}` };
}

function shortString(value: unknown, name: string, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw new InvalidOptionError(`${name} must be a string, got ${typeName(value)}`);
  if (!allowEmpty && value.length === 0) throw new InvalidOptionError(`${name} must not be empty`);
  if (Buffer.byteLength(value) > 255) throw new InvalidOptionError(`${name} is longer than 255 bytes`);
  return value;
}
