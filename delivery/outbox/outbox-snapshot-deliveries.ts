/**
 * The delivery part of an outbox snapshot without the payloads: each unconfirmed delivery names the
 * `accepted` event that holds its payload, and recovery reads those events back (from the oldest one
 * named up to the snapshot) before replaying what came after. A snapshot then grows with the number of
 * unconfirmed deliveries, not with their bytes, and is no longer a copy of every payload each time.
 *
 * The price is that events from the oldest referenced `accepted` event on must stay in the journal. So
 * that one delivery stuck for days does not pin the whole journal, payloads older than one snapshot
 * interval are inlined again, oldest first, while they fit in `MAX_INLINE_PAYLOAD_BYTES`: a few old
 * ones cost a little snapshot space, many old ones (a destination that is down) stay referenced.
 */
import type { AtLeastOnceDeliveryActor } from '../at-least-once-delivery-actor.js';
import type { AtLeastOnceDeliverySnapshot } from '../messages.js';
import { SnapshotPayloadMissingError } from '../errors.js';
import type { JsonValue } from '../transport.js';
import { messageFor, payloadOf } from './envelopes.js';
import type { OutboxSnapshot, OutboxSnapshotDelivery } from './outbox-protocol.js';
import { holdMessage, SerializedMessage } from '../held-message.js';
import { jsonByteLength } from '../json-byte-length.js';
import type { UnconfirmedPayloads } from './unconfirmed-payloads.js';

/** Bytes of old payloads one snapshot may carry inline so that they stop pinning the journal. */
export const MAX_INLINE_PAYLOAD_BYTES = 1024 * 1024;

export interface SnapshotDeliveries {
  readonly delivery: OutboxSnapshot['delivery'];
  /** The lowest sequence number the snapshot needs (its own + 1 when it references nothing). */
  readonly needsFrom: number;
}

/**
 * `current`: getDeliverySnapshot() as it is (envelopes and all); `sequenceNr`: where it is saved. A
 * referenced delivery's `message` is never read: a large one is held serialized and reading it parses
 * it (held-message.ts), which for a snapshot of 256 MiB of payloads would be as much garbage again.
 */
export function snapshotDeliveries(
  current: AtLeastOnceDeliverySnapshot,
  payloads: UnconfirmedPayloads,
  sequenceNr: number,
  every: number,
  journalIsVolatile: boolean,
): SnapshotDeliveries {
  const inline = (entry: Entry): OutboxSnapshotDelivery => laidOut(entry, payloadOf(entry.message), undefined);
  // A journal that forgets at exit (the in-memory one, beside a file snapshot store) cannot be referenced.
  if (journalIsVolatile) {
    return { delivery: { currentDeliveryId: current.currentDeliveryId, unconfirmedDeliveries: current.unconfirmedDeliveries.map(inline) }, needsFrom: sequenceNr + 1 };
  }
  let inlineBudget = MAX_INLINE_PAYLOAD_BYTES;
  let inlining = true;
  let needsFrom = sequenceNr + 1;
  const unconfirmedDeliveries = current.unconfirmedDeliveries.map((entry): OutboxSnapshotDelivery => {
    const payloadAt = payloadAtOf(payloads, entry.deliveryId, sequenceNr);
    if (payloadAt === undefined) return inline(entry);
    // Ids and `accepted` events come in the same order, so the first one kept referenced pins the rest.
    if (inlining && payloadAt <= sequenceNr - every && payloads.bytesOf(entry.deliveryId) <= inlineBudget) {
      inlineBudget -= payloads.bytesOf(entry.deliveryId);
      return inline(entry);
    }
    inlining = false;
    needsFrom = Math.min(needsFrom, payloadAt);
    return laidOut(entry, undefined, payloadAt);
  });
  return { delivery: { currentDeliveryId: current.currentDeliveryId, unconfirmedDeliveries }, needsFrom };
}

type Entry = AtLeastOnceDeliverySnapshot['unconfirmedDeliveries'][number];

/**
 * The entry as the outbox's snapshot holds it: with its payload (`message`) or where to find it
 * (`payloadAt`). One object per delivery, fields added in one order: a large backlog is walked at
 * every snapshot.
 */
function laidOut(entry: Entry, message: JsonValue | undefined, payloadAt: number | undefined): OutboxSnapshotDelivery {
  const { deliveryId, destination, senderId, createdAtSequenceNr, attempt, trace } = entry;
  const out: { -readonly [K in keyof OutboxSnapshotDelivery]: OutboxSnapshotDelivery[K] } = { deliveryId, destination };
  if (senderId !== undefined) out.senderId = senderId;
  if (createdAtSequenceNr !== undefined) out.createdAtSequenceNr = createdAtSequenceNr;
  if (attempt !== undefined) out.attempt = attempt;
  if (trace !== undefined) out.trace = trace;
  if (payloadAt !== undefined) out.payloadAt = payloadAt;
  else out.message = message as JsonValue;
  return out as OutboxSnapshotDelivery;
}

function payloadAtOf(payloads: UnconfirmedPayloads, deliveryId: number, sequenceNr: number): number | undefined {
  const at = payloads.payloadAt(deliveryId);
  return at !== undefined && at >= 1 && at <= sequenceNr ? at : undefined;
}

/**
 * Gathers the payloads a snapshot references while recovery re-reads the events it covers, then
 * gives the delivery state back with every payload in place.
 */
export class SnapshotPayloadReader {
  /** payloadAt → index into the snapshot's deliveries. */
  readonly #wanted = new Map<number, number>();
  /** payloadAt → the payload as a delivery holds it (held-message.ts). */
  readonly #found = new Map<number, unknown>();
  readonly from: number;

  constructor(
    readonly snapshot: OutboxSnapshot,
    readonly sequenceNr: number,
  ) {
    let from = sequenceNr + 1;
    snapshot.delivery.unconfirmedDeliveries.forEach((entry, index) => {
      if (entry.payloadAt === undefined) return;
      this.#wanted.set(entry.payloadAt, index);
      from = Math.min(from, entry.payloadAt);
    });
    this.from = from;
  }

  /** True when the snapshot references payloads (a snapshot from before 0.2.0 never does). */
  get referencesPayloads(): boolean {
    return this.#wanted.size > 0;
  }

  /** A re-read event: keeps the payload when it is one the snapshot names. */
  offer(sequenceNr: number, event: { readonly type: string; readonly payload?: JsonValue }): void {
    if (event.type !== 'accepted' || event.payload === undefined) return;
    const index = this.#wanted.get(sequenceNr);
    if (index === undefined) return;
    // Held as it will be held (its bytes, when large) at once: thousands of payloads read back must
    // not all be objects in the heap together before the deliveries are restored.
    const { destination } = this.snapshot.delivery.unconfirmedDeliveries[index]!;
    this.#found.set(sequenceNr, holdMessage(destination, event.payload));
  }

  /** The snapshot's deliveries with their payloads; throws when one was not in the journal. */
  deliveries(persistenceId: string): AtLeastOnceDeliverySnapshot['unconfirmedDeliveries'] {
    const missing: { deliveryId: number; payloadAt: number }[] = [];
    const restored = this.snapshot.delivery.unconfirmedDeliveries.map((entry) => {
      if (entry.payloadAt === undefined) return { ...entry, message: entry.message };
      const message = this.#found.get(entry.payloadAt);
      if (message === undefined) missing.push({ deliveryId: entry.deliveryId, payloadAt: entry.payloadAt });
      const { payloadAt: _read, ...rest } = entry;
      return { ...rest, message: message as JsonValue };
    });
    if (missing.length > 0) throw new SnapshotPayloadMissingError(persistenceId, this.sequenceNr, missing);
    return restored;
  }

  /**
   * Gives the snapshot's deliveries back to `actor` (actor destinations get their envelope again: the
   * snapshot holds plain payloads) and their payloads' places and sizes to `payloads`.
   */
  restore(actor: Pick<AtLeastOnceDeliveryActor, 'persistenceId' | 'setDeliverySnapshot'>, payloads: UnconfirmedPayloads): void {
    const entries = this.snapshot.delivery.unconfirmedDeliveries;
    const deliveries = this.deliveries(actor.persistenceId);
    actor.setDeliverySnapshot({
      currentDeliveryId: this.snapshot.delivery.currentDeliveryId,
      unconfirmedDeliveries: deliveries.map((delivery) => ({
        ...delivery,
        message: messageFor(actor.persistenceId, delivery.destination, delivery.deliveryId, delivery.message) as JsonValue,
      })),
    });
    payloads.clear();
    deliveries.forEach((delivery, index) => {
      const { message } = delivery;
      const bytes = message instanceof SerializedMessage ? message.json.length : jsonByteLength(message);
      payloads.added(delivery.deliveryId, bytes, entries[index]!.payloadAt);
    });
  }
}
