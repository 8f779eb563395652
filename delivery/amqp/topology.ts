/**
 * Topology as plain data: exchanges, queues (with dead-lettering) and bindings. The connection manager
 * declares it after every (re)connect, because a broker restart may have lost non-durable parts and a
 * deleted queue must come back before consumers re-subscribe.
 */
import type { Channel } from 'amqplib';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { oneOf, optionalBoolean, optionalInteger, optionalString, requireObject, requireString } from './options.js';

export type AmqpArgumentValue = string | number | boolean;
export type AmqpArguments = Readonly<Record<string, AmqpArgumentValue>>;

export interface ExchangeSpec {
  readonly name: string;
  readonly type: 'direct' | 'topic' | 'fanout' | 'headers';
  /** Default true: steadfast publishes persistent messages, which only make sense through durable parts. */
  readonly durable?: boolean;
  readonly autoDelete?: boolean;
  readonly arguments?: AmqpArguments;
}

export interface QueueSpec {
  readonly name: string;
  /** Default true. */
  readonly durable?: boolean;
  /** 'quorum' queues count deliveries durably (x-delivery-count), which the consumer uses for poison detection. */
  readonly type?: 'classic' | 'quorum';
  /** Where the broker dead-letters rejected/expired messages (x-dead-letter-exchange). */
  readonly deadLetterExchange?: string;
  readonly deadLetterRoutingKey?: string;
  readonly messageTtlMs?: number;
  readonly arguments?: AmqpArguments;
}

export interface BindingSpec {
  readonly exchange: string;
  readonly queue: string;
  /** Default '' (what fanout exchanges ignore anyway). */
  readonly routingKey?: string;
  readonly arguments?: AmqpArguments;
}

export interface Topology {
  readonly exchanges?: readonly ExchangeSpec[];
  readonly queues?: readonly QueueSpec[];
  readonly bindings?: readonly BindingSpec[];
}

const exchangeTypes = ['direct', 'topic', 'fanout', 'headers'] as const;
const queueTypes = ['classic', 'quorum'] as const;

function validateArguments(value: unknown, name: string): AmqpArguments | undefined {
  if (value === undefined) return undefined;
  const raw = requireObject(value, name);
  for (const [key, entry] of Object.entries(raw)) {
    if (!['string', 'number', 'boolean'].includes(typeof entry)) {
      throw new InvalidOptionError(`${name}.${key} must be a string, number or boolean`);
    }
  }
  return raw as AmqpArguments;
}

function list(value: unknown, name: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionError(`${name} must be an array`);
  return value;
}

/** Checks a topology description and returns a normalised copy (defaults filled in). */
export function validateTopology(value: unknown, name = 'topology'): Required<Topology> {
  if (value === undefined) return { exchanges: [], queues: [], bindings: [] };
  const raw = requireObject(value, name);
  const exchanges = list(raw.exchanges, `${name}.exchanges`).map((entry, i): ExchangeSpec => {
    const at = `${name}.exchanges[${i}]`;
    const e = requireObject(entry, at);
    const spec: ExchangeSpec = {
      name: requireString(e.name, `${at}.name`),
      type: oneOf(e.type, `${at}.type`, exchangeTypes, 'direct'),
      durable: optionalBoolean(e.durable, `${at}.durable`, true),
      autoDelete: optionalBoolean(e.autoDelete, `${at}.autoDelete`, false),
    };
    const args = validateArguments(e.arguments, `${at}.arguments`);
    return args ? { ...spec, arguments: args } : spec;
  });
  const queues = list(raw.queues, `${name}.queues`).map((entry, i) => validateQueueSpec(entry, `${name}.queues[${i}]`));
  const bindings = list(raw.bindings, `${name}.bindings`).map((entry, i): BindingSpec => {
    const at = `${name}.bindings[${i}]`;
    const b = requireObject(entry, at);
    const spec: BindingSpec = {
      exchange: requireString(b.exchange, `${at}.exchange`),
      queue: requireString(b.queue, `${at}.queue`),
      routingKey: b.routingKey === undefined ? '' : requireString(b.routingKey, `${at}.routingKey`, { allowEmpty: true }),
    };
    const args = validateArguments(b.arguments, `${at}.arguments`);
    return args ? { ...spec, arguments: args } : spec;
  });
  return { exchanges, queues, bindings };
}

export function validateQueueSpec(entry: unknown, at: string): QueueSpec {
  const q = requireObject(entry, at);
  const spec: { -readonly [K in keyof QueueSpec]: QueueSpec[K] } = {
    name: requireString(q.name, `${at}.name`),
    durable: optionalBoolean(q.durable, `${at}.durable`, true),
    type: oneOf(q.type, `${at}.type`, queueTypes, 'classic'),
  };
  if (q.deadLetterExchange !== undefined) {
    spec.deadLetterExchange = requireString(q.deadLetterExchange, `${at}.deadLetterExchange`, { allowEmpty: true });
  }
  if (q.deadLetterRoutingKey !== undefined) spec.deadLetterRoutingKey = optionalString(q.deadLetterRoutingKey, `${at}.deadLetterRoutingKey`, '');
  if (q.messageTtlMs !== undefined) spec.messageTtlMs = optionalInteger(q.messageTtlMs, `${at}.messageTtlMs`, 0, { min: 0 });
  const args = validateArguments(q.arguments, `${at}.arguments`);
  if (args) spec.arguments = args;
  if (spec.type === 'quorum' && spec.durable === false) throw new InvalidOptionError(`${at}: quorum queues are always durable`);
  return spec;
}

/** Concatenates topologies; a later declaration of the same name wins (the broker would refuse a mismatch anyway). */
export function mergeTopology(...parts: readonly Topology[]): Required<Topology> {
  const exchanges = new Map<string, ExchangeSpec>();
  const queues = new Map<string, QueueSpec>();
  const bindings = new Map<string, BindingSpec>();
  for (const part of parts) {
    for (const e of part.exchanges ?? []) exchanges.set(e.name, e);
    for (const q of part.queues ?? []) queues.set(q.name, q);
    for (const b of part.bindings ?? []) bindings.set(`${b.exchange}\u0000${b.queue}\u0000${b.routingKey ?? ''}`, b);
  }
  return { exchanges: [...exchanges.values()], queues: [...queues.values()], bindings: [...bindings.values()] };
}

export function queueArguments(spec: QueueSpec): Record<string, AmqpArgumentValue> {
  const args: Record<string, AmqpArgumentValue> = { ...(spec.arguments ?? {}) };
  if (spec.type === 'quorum') args['x-queue-type'] = 'quorum';
  if (spec.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = spec.deadLetterExchange;
  if (spec.deadLetterRoutingKey !== undefined) args['x-dead-letter-routing-key'] = spec.deadLetterRoutingKey;
  if (spec.messageTtlMs !== undefined) args['x-message-ttl'] = spec.messageTtlMs;
  return args;
}

export async function declareQueue(channel: Channel, spec: QueueSpec): Promise<void> {
  await channel.assertQueue(spec.name, { durable: spec.durable ?? true, arguments: queueArguments(spec) });
}

/** Exchanges first, then queues, then bindings: a binding needs both ends to exist. */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const e of topology.exchanges ?? []) {
    await channel.assertExchange(e.name, e.type, {
      durable: e.durable ?? true,
      autoDelete: e.autoDelete ?? false,
      ...(e.arguments ? { arguments: { ...e.arguments } } : {}),
    });
  }
  for (const q of topology.queues ?? []) await declareQueue(channel, q);
  for (const b of topology.bindings ?? []) {
    await channel.bindQueue(b.queue, b.exchange, b.routingKey ?? '', b.arguments ? { ...b.arguments } : undefined);
  }
}
