/**
 * What the outbox hands to a destination for a payload: an actor gets a `DeliveryEnvelope` naming the
 * sender and the delivery id (it confirms by replying DeliveryConfirmed), a transport the bare payload
 * (it puts those into message headers itself). Journals, snapshots and answers hold plain payloads, so
 * envelopes are made when a delivery is (re)created and taken off again when it is shown or saved.
 */
import type { PlainDestination } from '../destination.js';
import { DeliveryEnvelope } from '../messages.js';
import type { JsonValue } from '../transport.js';

export function messageFor(senderId: string, destination: PlainDestination, deliveryId: number, payload: unknown): unknown {
  return typeof destination === 'string' ? new DeliveryEnvelope(senderId, deliveryId, payload) : payload;
}

export function payloadOf(message: unknown): JsonValue {
  return (message instanceof DeliveryEnvelope ? message.payload : message) as JsonValue;
}

/** The deliveries with each message replaced by its plain payload. */
export function withPayloads<T extends { readonly message: unknown }>(deliveries: readonly T[]): (Omit<T, 'message'> & { readonly message: JsonValue })[] {
  return deliveries.map((delivery) => ({ ...delivery, message: payloadOf(delivery.message) }));
}
