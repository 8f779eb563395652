import { InvalidOptionError } from '../src/actor/errors.js';
import { isActorRef, type ActorRef } from '../src/actor/actor-ref.js';
import { redactDestination } from './redaction.js';
import type { RegisteredDestination, TransportDestination } from './transport.js';

/**
 * Where a delivery goes: an ActorRef, an actor path ("/user/orders"), or a transport destination
 * (plain data such as `{ transport: 'amqp', exchange: 'orders', routingKey: 'created' }`) of a
 * transport registered in `TransportNames`, so a misspelt transport does not compile.
 */
export type Destination = ActorRef | string | RegisteredDestination;

/** The same, as plain data: a ref becomes its path, so it fits into snapshots and survives restarts. */
export type PlainDestination = string | RegisteredDestination;

export function toPlainDestination(destination: Destination): PlainDestination {
  if (typeof destination === 'string') return destination;
  if (isActorRef(destination)) return destination.path;
  return destination;
}

export function validateDestination(destination: unknown): asserts destination is Destination {
  if (typeof destination === 'string') {
    if (!destination.startsWith('/')) {
      throw new InvalidOptionError(`an actor path destination must start with "/", e.g. "/user/receiver"; got "${destination}"`);
    }
    return;
  }
  if (isActorRef(destination)) return;
  if (destination !== null && typeof destination === 'object' && typeof (destination as TransportDestination).transport === 'string') return;
  throw new InvalidOptionError('a destination is an ActorRef, an actor path like "/user/receiver", or a transport destination like { transport: "amqp", queue: "orders" }');
}

/** For log lines and messages: credentials in URLs and headers are redacted (see redaction.ts). */
export function describeDestination(destination: string | TransportDestination<string>): string {
  if (typeof destination === 'string') return destination;
  const { transport, ...rest } = redactDestination(destination);
  return `${transport}:${JSON.stringify(rest)}`;
}
