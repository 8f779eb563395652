/**
 * One delivery of an AtLeastOnceDeliveryActor while it is unconfirmed, and the two ways it is shown:
 * to operators (`DeliveryInfo`, with attempts and times) and to the actor (`UnconfirmedDelivery`).
 */
import { toPlainDestination, type Destination, type PlainDestination } from './destination.js';
import { heldValue, holdMessage } from './held-message.js';
import type { UnconfirmedDelivery } from './messages.js';
import type { TraceCarrier } from './tracing/trace-context.js';

/** One unconfirmed delivery as operators see it. Times are wall-clock ms (undefined: not sent yet). */
export interface DeliveryInfo extends UnconfirmedDelivery {
  readonly firstAttemptAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly lastError: string | undefined;
  /** Given up on after `deadLetterAfterAttempts` sends; waiting for the actor to persist that. */
  readonly exhausted: boolean;
  /**
   * Wall-clock ms when the next attempt is due (the redelivery tick sends it at the first tick after);
   * undefined when not sent yet (it goes at once) or exhausted (no more attempts).
   */
  readonly nextAttemptAt: number | undefined;
}

export interface DeliveryRecord {
  readonly deliveryId: number;
  readonly destination: Destination;
  readonly plainDestination: PlainDestination;
  /** The message as held between attempts (`held-message.ts`): read it with `heldValue`. */
  readonly held: unknown;
  attempt: number;
  /** Monotonic time (performance.now) when the next send is due: wall-clock jumps cannot cause storms or stalls. */
  dueAt: number;
  firstAttemptAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: string | undefined;
  exhausted: boolean;
  /** Sends handed to a transport whose outcome is not known yet (a give-up waits for the last one's). */
  sendsPending: number;
  /** Sequence number of the event whose handler made the delivery (replay keys it as it was keyed then). */
  readonly createdAtSequenceNr: number;
  /** Made by a live handler, not rebuilt by replay: keyed with the current identity. */
  readonly live: boolean;
  /** Wire sender id of the delivery's key; set once, at the first send (or restored from a snapshot). */
  senderId: string | undefined;
  token: string | undefined;
  keyResolved: boolean;
  /** The trace the delivery belongs to (kept in its event and in snapshots); every attempt continues it. */
  readonly trace: TraceCarrier | undefined;
  /** Epoch ms when a confirmation arrived for it (the start of its confirmation span); traced deliveries only. */
  confirmationSeenAt: number | undefined;
}

/** Not sent yet, and due at once: the first send (or, after recovery, the resend) happens right away. */
export function newRecord(
  deliveryId: number,
  destination: Destination,
  message: unknown,
  createdAtSequenceNr: number,
  live: boolean,
  senderId: string | undefined,
  trace: TraceCarrier | undefined,
): DeliveryRecord {
  return {
    deliveryId,
    destination,
    plainDestination: toPlainDestination(destination),
    held: holdMessage(destination, message),
    attempt: 0,
    dueAt: Number.NEGATIVE_INFINITY,
    firstAttemptAt: undefined,
    lastAttemptAt: undefined,
    lastError: undefined,
    exhausted: false,
    sendsPending: 0,
    createdAtSequenceNr,
    live,
    senderId,
    token: undefined,
    keyResolved: false,
    trace,
    confirmationSeenAt: undefined,
  };
}

/**
 * `dueAt` is monotonic time; it is shown on the wall clock of the process's start (timeOrigin), so the
 * same record reads the same every time it is listed.
 */
export function toInfo(record: DeliveryRecord): DeliveryInfo {
  const due = record.exhausted || !Number.isFinite(record.dueAt) ? undefined : Math.round(performance.timeOrigin + record.dueAt);
  const info = {
    deliveryId: record.deliveryId,
    destination: record.plainDestination,
    attempt: record.attempt,
    firstAttemptAt: record.firstAttemptAt,
    lastAttemptAt: record.lastAttemptAt,
    lastError: record.lastError,
    exhausted: record.exhausted,
    nextAttemptAt: due,
  };
  // Read when it is read: listing thousands of deliveries to count or page them parses none.
  const { held } = record;
  return Object.defineProperty(info, 'message', { enumerable: true, get: () => heldValue(held) }) as typeof info & { readonly message: unknown };
}

export function describeRecord(record: DeliveryRecord): UnconfirmedDelivery {
  return { deliveryId: record.deliveryId, destination: record.plainDestination, message: heldValue(record.held), attempt: record.attempt };
}
