/**
 * Transports carry deliveries of an AtLeastOnceDeliveryActor to destinations outside the actor system
 * (RabbitMQ, HTTP, ...). A destination is plain data, so it survives a delivery snapshot and a restart;
 * the transport named in it is looked up when the delivery is (re)sent.
 */
import type { Logger } from 'pino';
import type { TraceCarrier } from './tracing/trace-context.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/**
 * The transports a program can use, by name, each with the type of its destinations. Transports add
 * themselves by declaration merging in their own modules (steadfast/http adds `http`, steadfast/amqp
 * adds `amqp`); a transport of your own adds its name the same way:
 *
 * ```ts
 * declare module 'steadfast' {
 *   interface TransportNames { sqs: TransportDestination<'sqs'> & { readonly queueUrl: string } }
 * }
 * ```
 *
 * Then `{ transport: 'sqs', queueUrl }` is a `Destination`, and a misspelt name or a missing field
 * does not compile. Types only: at run time the destination is checked as before, against the
 * transports the system was created with (`UnknownTransportError`, `validateDestination`).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging, one entry per transport module
export interface TransportNames {}

/** The name of a transport registered in `TransportNames`. */
export type TransportName = keyof TransportNames & string;

/**
 * The plain-data address of a destination served by a transport, e.g. `{ transport: 'amqp', exchange:
 * 'orders', routingKey: 'created' }`: a transport name and JSON fields, so it survives a snapshot and
 * a restart. `Name` defaults to the registered names; transports themselves see
 * `TransportDestination<string>` (what a journal or an HTTP request may hold, validated at run time).
 */
export interface TransportDestination<Name extends string = TransportName> {
  readonly transport: Name;
  readonly [field: string]: JsonValue;
}

/** A destination of one of the registered transports, with its own fields (`TransportNames[name]`). */
export type RegisteredDestination = TransportNames[TransportName];

/** One attempt to hand a delivery to its destination. */
export interface OutboundDelivery {
  /**
   * The delivering actor on the wire: `${persistenceId}@${storeId}` (see sender-identity.ts), or the
   * bare persistenceId for deliveries made before it had an identity. With `deliveryId` it is the
   * delivery's key (`${senderId}:${deliveryId}`: AMQP message id, HTTP Idempotency-Key), the same on
   * every attempt and never the same for two senders or for a store created anew.
   */
  readonly senderId: string;
  readonly deliveryId: number;
  /** What `deliver`'s factory produced for this delivery id (plain data). */
  readonly message: JsonValue;
  /**
   * `message` as JSON in UTF-8, when the sender holds it serialized (large messages: held-message.ts).
   * Send these bytes rather than serializing `message` again; reading `message` parses them.
   */
  readonly messageJson?: Buffer | undefined;
  /**
   * Proof of receipt: a receiver that confirms by message (a reply) echoes it, and only a confirmation
   * with the right token counts (`TransportContext.confirmReceived`). Undefined for deliveries made
   * before the sender had an identity.
   */
  readonly confirmationToken?: string | undefined;
  /** 1 for the first send, 2 for the first redelivery, ... */
  readonly attempt: number;
  /**
   * The sender's lowest unconfirmed delivery id when this attempt was made: every id below it is
   * confirmed (or given up) and will never be sent again, so a receiver may fold them into its
   * high-water mark. This keeps a receiver's dedup memory bounded even when it sees only some of a
   * sender's ids (e.g. one entity among many).
   */
  readonly oldestUnconfirmedId?: number;
  /**
   * The trace this attempt continues, as W3C headers: send `traceparent` (and `tracestate` when set)
   * with the message. Its parent id is the attempt's span when an SDK records, else the delivery's
   * own. Undefined when the delivery has no trace.
   */
  readonly trace?: TraceCarrier | undefined;
}

export interface TransportContext {
  /**
   * Report that the destination confirmed `deliveryId` of `senderId` (a consumer's reply, a broker
   * confirm, a 2xx answer). It is routed to the live actor with that persistenceId, which persists the
   * confirmation; when that actor is not running, the report is dropped and redelivery (deduplicated
   * by the receiver) brings a new confirmation later.
   */
  confirm(senderId: string, deliveryId: number): void;
  /**
   * Report a confirmation that arrived as a message from the receiver (a reply), with the token it
   * echoed. It counts only if the token is the one the delivery carried (deliveries made before the
   * sender had an identity carry none and are confirmed without); anything else is ignored, logged
   * (rate-limited) and counted. Use `confirm` for what the transport observed itself.
   */
  confirmReceived(senderId: string, deliveryId: number, token: string | undefined): void;
  readonly logger: Logger;
}

export interface DeliveryTransport {
  /** Matches `TransportDestination.transport`; add it to `TransportNames` so destinations type-check. */
  readonly name: string;
  /** Throws an InvalidOptionError naming the field when the destination cannot be used. */
  validateDestination(destination: TransportDestination<string>): void;
  start(context: TransportContext): Promise<void>;
  /**
   * Hands one attempt to the destination. Resolving means "sent", not "confirmed" (confirmation comes
   * through `context.confirm`). Rejecting means this attempt failed; the delivery stays unconfirmed and
   * is sent again on the next redelivery tick. Must never hang: implementations time out.
   */
  send(destination: TransportDestination<string>, delivery: OutboundDelivery): Promise<void>;
  close(): Promise<void>;
}
