/**
 * What a handler receives, and how a raw AMQP delivery becomes one (or is found malformed). Parsing is
 * total: every input yields either a message or a dead-letter reason, never an exception.
 */
import type { ConsumeMessage } from 'amqplib';
import type { JsonValue } from '../transport.js';
import { traceCarrierOf, type TraceCarrier } from '../tracing/trace-context.js';
import type { OtelAttributes } from '../tracing/open-telemetry.js';
import {
  DEFAULT_MANIFEST,
  HEADER_ATTEMPT,
  HEADER_DELIVERY_ID,
  HEADER_OLDEST_UNCONFIRMED,
  HEADER_QUORUM_DELIVERY_COUNT,
  HEADER_REDELIVERIES,
  HEADER_SENDER,
  HEADER_TOKEN,
  HEADER_TRACEPARENT,
  HEADER_TRACESTATE,
  isDeliveryId,
  isToken,
  numeric,
} from './wire.js';

interface InboundBase {
  /** The AMQP message id; for steadfast senders `${senderId}:${deliveryId}`, the same on every redelivery. */
  readonly messageId: string | undefined;
  readonly body: JsonValue;
  /** The AMQP `type` property. */
  readonly manifest: string;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The broker's flag: this copy was delivered before (to this or another consumer). */
  readonly redelivered: boolean;
  /** Handler attempt for this delivery, 1-based (failed attempts are retried in process with backoff). */
  readonly attempt: number;
  /** Durable count of deliveries of this message to a consumer, 1 = first (survives consumer crashes). */
  readonly deliveryCount: number;
}

/** Sent by a steadfast transport: the handler must be idempotent per (senderId, deliveryId). */
export interface SteadfastInboundMessage extends InboundBase {
  readonly kind: 'steadfast';
  readonly messageId: string;
  readonly senderId: string;
  readonly deliveryId: number;
  /** The sender's attempt (1 = first send); redeliveries by the sender carry the same messageId. */
  readonly senderAttempt: number;
  /** The sender's lowest unconfirmed delivery id at send time, when it said so. */
  readonly oldestUnconfirmedId?: number;
  /** The delivery's proof-of-receipt token, echoed in the confirmation (undefined: the sender sent none). */
  readonly confirmationToken: string | undefined;
}

/** Sent by something else (only when `requireSteadfastHeaders: false`). */
export interface ForeignInboundMessage extends InboundBase {
  readonly kind: 'foreign';
}

export type InboundMessage = SteadfastInboundMessage | ForeignInboundMessage;

export type DeadLetterReason = 'invalid-json' | 'missing-headers' | 'unknown-manifest' | 'handler-failed' | 'poison';

export type ParseResult = { readonly kind: 'ok'; readonly message: InboundMessage } | { readonly kind: 'malformed'; readonly reason: DeadLetterReason; readonly detail: string };

export interface ParseRules {
  readonly requireSteadfastHeaders: boolean;
  /** When given, a manifest outside it is malformed. */
  readonly manifests: ReadonlySet<string> | undefined;
}

/**
 * Deliveries so far, this one included: quorum queues count them (x-delivery-count, absent on the first);
 * on classic queues the consumer keeps its own count in a header of the copy it re-publishes.
 */
export function deliveryCountOf(raw: ConsumeMessage): { count: number; durable: boolean } {
  const headers = (raw.properties.headers ?? {}) as Record<string, unknown>;
  const quorum = numeric(headers[HEADER_QUORUM_DELIVERY_COUNT]);
  if (quorum !== undefined) return { count: quorum + 1, durable: true };
  const own = numeric(headers[HEADER_REDELIVERIES]) ?? 0;
  return { count: own + 1, durable: false };
}

export function parseInbound(raw: ConsumeMessage, rules: ParseRules, deliveryCount: number): ParseResult {
  const properties = raw.properties;
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  const manifest = typeof properties.type === 'string' && properties.type.length > 0 ? properties.type : DEFAULT_MANIFEST;
  if (rules.manifests && !rules.manifests.has(manifest)) {
    return { kind: 'malformed', reason: 'unknown-manifest', detail: `manifest ${JSON.stringify(manifest)} is not one of the expected manifests` };
  }
  let body: JsonValue;
  try {
    body = JSON.parse(raw.content.toString('utf8')) as JsonValue;
  } catch (error) {
    return { kind: 'malformed', reason: 'invalid-json', detail: `body is not JSON: ${(error as Error).message}` };
  }
  const messageId = typeof properties.messageId === 'string' && properties.messageId.length > 0 ? properties.messageId : undefined;
  const redelivered = raw.fields.redelivered;
  const senderId = headers[HEADER_SENDER];
  const deliveryId = numeric(headers[HEADER_DELIVERY_ID]);
  if (messageId !== undefined && typeof senderId === 'string' && senderId.length > 0 && isDeliveryId(deliveryId)) {
    const senderAttempt = numeric(headers[HEADER_ATTEMPT]) ?? 1;
    const oldest = numeric(headers[HEADER_OLDEST_UNCONFIRMED]);
    // Ignored unless plausible: it may only ever lower what a receiver must remember, never skip this delivery.
    const oldestUnconfirmedId = isDeliveryId(oldest) && oldest <= deliveryId ? oldest : undefined;
    const token = headers[HEADER_TOKEN];
    const confirmationToken = isToken(token) && token !== '' ? token : undefined;
    // Literals of one shape rather than spreads: this runs once per message on the consumer's hot path.
    const message: SteadfastInboundMessage =
      oldestUnconfirmedId === undefined
        ? { kind: 'steadfast', messageId, body, manifest, headers, redelivered, attempt: 1, deliveryCount, senderId, deliveryId, senderAttempt, confirmationToken }
        : {
            kind: 'steadfast',
            messageId,
            body,
            manifest,
            headers,
            redelivered,
            attempt: 1,
            deliveryCount,
            senderId,
            deliveryId,
            senderAttempt,
            confirmationToken,
            oldestUnconfirmedId,
          };
    return { kind: 'ok', message };
  }
  if (rules.requireSteadfastHeaders) {
    const missing = [
      messageId === undefined ? 'messageId' : undefined,
      typeof senderId === 'string' && senderId.length > 0 ? undefined : HEADER_SENDER,
      isDeliveryId(deliveryId) ? undefined : HEADER_DELIVERY_ID,
    ].filter((name): name is string => name !== undefined);
    return { kind: 'malformed', reason: 'missing-headers', detail: `missing or invalid: ${missing.join(', ')}` };
  }
  return { kind: 'ok', message: { kind: 'foreign', messageId, body, manifest, headers, redelivered, attempt: 1, deliveryCount } };
}

/** The W3C trace a message carries in its headers (a malformed one is ignored), or undefined. */
export function inboundTraceOf(message: Pick<InboundBase, 'headers'>): TraceCarrier | undefined {
  const traceparent = message.headers[HEADER_TRACEPARENT];
  // Other clients may send header values as bytes.
  const text = Buffer.isBuffer(traceparent) ? traceparent.toString('latin1') : traceparent;
  if (text === undefined) return undefined;
  const state = message.headers[HEADER_TRACESTATE];
  return traceCarrierOf(text, Buffer.isBuffer(state) ? state.toString('latin1') : state);
}

/** The attributes of a consume span (computed only when it records). */
export function consumeAttributes(message: InboundMessage, queue: string): OtelAttributes {
  const attributes: OtelAttributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': queue,
    'steadfast.handler_attempt': message.attempt,
  };
  if (message.messageId !== undefined) attributes['messaging.message.id'] = message.messageId;
  if (message.kind === 'steadfast') {
    attributes['steadfast.sender_id'] = message.senderId;
    attributes['steadfast.delivery_id'] = message.deliveryId;
    attributes['steadfast.attempt'] = message.senderAttempt;
  }
  return attributes;
}
