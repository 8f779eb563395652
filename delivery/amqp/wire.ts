/**
 * The wire format shared by the outbound transport and the inbound consumer: header names, the message
 * id, and the confirmation reply. Kept in one place so that both sides (possibly different versions in
 * different services) agree.
 */
import type { MessageProperties } from 'amqplib';
import type { OutboundDelivery } from '../transport.js';

export const HEADER_SENDER = 'x-steadfast-sender';
export const HEADER_DELIVERY_ID = 'x-steadfast-delivery-id';
/** The sender's attempt number (1 = first send, 2 = first redelivery, ...). */
export const HEADER_ATTEMPT = 'x-steadfast-attempt';
/** The sender's lowest unconfirmed delivery id at send time (see OutboundDelivery.oldestUnconfirmedId). */
export const HEADER_OLDEST_UNCONFIRMED = 'x-steadfast-oldest-unconfirmed';
/**
 * Set by a sender that reads batched confirmation replies (manifest `steadfast.confirmations`). A
 * receiver batches only the replies to such senders, so a sender of an older version, which reads one
 * confirmation per reply, keeps getting exactly that.
 */
export const HEADER_REPLY_BATCHES = 'x-steadfast-reply-batches';
/**
 * The delivery's proof-of-receipt token (see OutboundDelivery.confirmationToken). A receiver echoes it
 * in its confirmation; the sender counts only confirmations that carry the right one.
 */
export const HEADER_TOKEN = 'x-steadfast-token';
/** Longest token a receiver accepts to echo (steadfast's are 22 characters). */
export const MAX_TOKEN_LENGTH = 128;
/** W3C Trace Context, as message headers (the names OpenTelemetry's AMQP instrumentations use). */
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';
export const HEADER_DEAD_LETTER_REASON = 'x-steadfast-dead-letter-reason';
export const HEADER_DEAD_LETTER_ERROR = 'x-steadfast-dead-letter-error';
export const HEADER_DEAD_LETTER_QUEUE = 'x-steadfast-dead-letter-queue';
/**
 * Consumer-side durable delivery count for queues that keep none themselves (classic queues): how many
 * times a copy of this message reached a consumer that did not finish with it (crash, lost connection).
 */
export const HEADER_REDELIVERIES = 'x-steadfast-redeliveries';
/** Set by quorum queues on redelivery. */
export const HEADER_QUORUM_DELIVERY_COUNT = 'x-delivery-count';

export const CONTENT_TYPE_JSON = 'application/json';
export const CONFIRMATION_MANIFEST = 'steadfast.confirmation';
/**
 * Many confirmations in one reply: `{"confirmations": [{"senderId": "...", "deliveryIds": [1, 2], "tokens": ["…", "…"]}]}`
 * (`tokens` parallel to `deliveryIds`, "" where the message carried none; absent from older receivers).
 */
export const CONFIRMATIONS_MANIFEST = 'steadfast.confirmations';
export const DEFAULT_MANIFEST = 'steadfast.json';

/**
 * The headers of one delivery attempt. The keys are written out (they are the HEADER_* names above;
 * wire.test.ts holds them equal) because a literal with computed keys is built key by key at run time,
 * on a path every delivery takes; a trace adds its two headers only when there is one.
 */
export function deliveryHeaders(delivery: OutboundDelivery): Record<string, string | number | undefined> {
  const { trace } = delivery;
  if (trace === undefined) {
    return {
      'x-steadfast-sender': delivery.senderId,
      'x-steadfast-delivery-id': delivery.deliveryId,
      'x-steadfast-attempt': delivery.attempt,
      'x-steadfast-reply-batches': 1,
      'x-steadfast-oldest-unconfirmed': delivery.oldestUnconfirmedId,
      'x-steadfast-token': delivery.confirmationToken,
    };
  }
  return {
    'x-steadfast-sender': delivery.senderId,
    'x-steadfast-delivery-id': delivery.deliveryId,
    'x-steadfast-attempt': delivery.attempt,
    'x-steadfast-reply-batches': 1,
    'x-steadfast-oldest-unconfirmed': delivery.oldestUnconfirmedId,
    'x-steadfast-token': delivery.confirmationToken,
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
  };
}

/** Unique per sender and delivery id; the same across redeliveries, which is what receivers dedup on. */
export function messageIdOf(senderId: string, deliveryId: number): string {
  return `${senderId}:${deliveryId}`;
}

export interface Confirmation {
  readonly senderId: string;
  readonly deliveryId: number;
  /** The token the delivery carried, echoed (undefined when it carried none). */
  readonly token?: string | undefined;
}

export function confirmationBody(confirmation: Confirmation): Buffer {
  const { senderId, deliveryId, token } = confirmation;
  return Buffer.from(JSON.stringify(token === undefined ? { senderId, deliveryId } : { senderId, deliveryId, token }));
}

export interface ConfirmationGroup {
  readonly senderId: string;
  readonly deliveryIds: readonly number[];
  readonly tokens?: readonly string[];
}

export function confirmationsBody(groups: readonly ConfirmationGroup[]): Buffer {
  return Buffer.from(JSON.stringify({ confirmations: groups }));
}

/**
 * The confirmations a reply carries: many for a `steadfast.confirmations` reply, else the one of a
 * single reply. Undefined when the reply is malformed; entries that are not a sender with delivery
 * ids make the whole reply malformed rather than confirming part of it by guesswork.
 */
export function parseConfirmations(properties: MessageProperties, content: Buffer): Confirmation[] | undefined {
  if (properties.type !== CONFIRMATIONS_MANIFEST) {
    const single = parseConfirmation(properties, content);
    return single && [single];
  }
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
  const groups = (body as { confirmations?: unknown } | null)?.confirmations;
  if (!Array.isArray(groups)) return undefined;
  const confirmations: Confirmation[] = [];
  for (const group of groups as unknown[]) {
    const { senderId, deliveryIds, tokens } = (group ?? {}) as { senderId?: unknown; deliveryIds?: unknown; tokens?: unknown };
    if (typeof senderId !== 'string' || !Array.isArray(deliveryIds)) return undefined;
    if (tokens !== undefined && (!Array.isArray(tokens) || tokens.length !== deliveryIds.length)) return undefined;
    for (let i = 0; i < deliveryIds.length; i++) {
      const deliveryId: unknown = deliveryIds[i];
      if (!isDeliveryId(deliveryId)) return undefined;
      const token: unknown = tokens?.[i];
      if (token !== undefined && !isToken(token)) return undefined;
      confirmations.push({ senderId, deliveryId, token: token === undefined || token === '' ? undefined : token });
    }
  }
  return confirmations;
}

/** A token as a receiver may echo it ("" stands for none in a batch). */
export function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TOKEN_LENGTH;
}

export function isDeliveryId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Reads a confirmation from headers first (cheap, survives a body a foreign replier mangled), else the body. */
export function parseConfirmation(properties: MessageProperties, content: Buffer): Confirmation | undefined {
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  const sender = headers[HEADER_SENDER];
  const deliveryId = numeric(headers[HEADER_DELIVERY_ID]);
  const headerToken = headers[HEADER_TOKEN];
  if (typeof sender === 'string' && isDeliveryId(deliveryId)) {
    return { senderId: sender, deliveryId, token: isToken(headerToken) && headerToken !== '' ? headerToken : undefined };
  }
  try {
    const body: unknown = JSON.parse(content.toString('utf8'));
    if (typeof body === 'object' && body !== null) {
      const { senderId, deliveryId: id, token } = body as Record<string, unknown>;
      if (typeof senderId === 'string' && isDeliveryId(id)) return { senderId, deliveryId: id, token: isToken(token) && token !== '' ? token : undefined };
    }
  } catch {
    // not JSON: reported as malformed by the caller
  }
  return undefined;
}

/** Header values may arrive as numbers or, from other clients, as numeric strings or bigint-ish objects. */
export function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
