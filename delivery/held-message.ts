/**
 * How an unconfirmed delivery keeps its message between attempts. A large message for a transport is
 * held as its JSON bytes, outside the JavaScript heap: the transport sends those bytes as they are, and
 * the heap holds only what is small. With 256 MiB of 100 KB payloads in flight (the outbox's default
 * byte budget) held as objects, V8 let its old space grow to about twice that before collecting the
 * garbage every send makes, and the process went past 650 MiB; held as bytes, the heap stays small and
 * collects early (figures: bench/README.md, issue 15). Messages to actors are never serialized: they
 * are handed over by reference.
 */
import { isActorRef } from '../src/actor/actor-ref.js';
import type { Destination } from './destination.js';
import { jsonByteLength } from './json-byte-length.js';
import type { JsonValue } from './transport.js';

/**
 * At this size and above a transport message is held serialized. Below it, holding the object costs
 * about what its bytes would, and Buffers this small share 8 KiB pool slabs, which one retained slice
 * would keep alive.
 */
export const SERIALIZED_FROM_BYTES = 4096;

/** A message held as its JSON bytes (UTF-8). */
export class SerializedMessage {
  constructor(readonly json: Buffer) {}

  /** The message as a value again: a new copy on each call (the bytes are what is kept). */
  value(): JsonValue {
    return JSON.parse(this.json.toString('utf8')) as JsonValue;
  }
}

/** What a delivery record keeps for `message`: its JSON bytes when it is a large transport message, else the message itself. */
export function holdMessage(destination: Destination, message: unknown): unknown {
  if (message instanceof SerializedMessage || !isTransportDestination(destination)) return message;
  if (jsonByteLength(message as JsonValue) < SERIALIZED_FROM_BYTES) return message;
  const json = JSON.stringify(message);
  // Not JSON at all (a function, undefined): held as given, and the transport's send reports it.
  return json === undefined ? message : new SerializedMessage(Buffer.from(json, 'utf8'));
}

/** The message as the actor gave it (parsed again when it is held serialized). */
export function heldValue(held: unknown): unknown {
  return held instanceof SerializedMessage ? held.value() : held;
}

function isTransportDestination(destination: Destination): boolean {
  return typeof destination !== 'string' && !isActorRef(destination);
}
