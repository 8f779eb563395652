/**
 * Whether a new delivery is let in, a send or a redrive, before its event is persisted: a send's
 * idempotency key first (a duplicate is answered with the first id, a key reused for another request
 * is refused, a retry while the first is being persisted waits for it), then maxUnconfirmedMessages
 * and maxUnconfirmedBytes. Once an `accepted` or `redriven` event is stored, `deliver` must not throw
 * in its handler (that would fail the actor), so what is still being persisted counts against the
 * limits too. When such a write is refused or fails, its counts are given back and whoever waits for
 * it hears why at once.
 */
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { asError } from '../../src/actor/errors.js';
import { StatusFailure } from '../../src/actor/messages.js';
import type { AtLeastOnceDeliveryActor } from '../at-least-once-delivery-actor.js';
import { IdempotencyKeyReusedError, MaxUnconfirmedBytesExceededError, MaxUnconfirmedMessagesExceededError } from '../errors.js';
import type { OutboxRecords } from './outbox-records.js';
import type { OutboxEvent, OutboxSend, SendAccepted } from './outbox-protocol.js';
import { jsonByteLength } from '../json-byte-length.js';

/** What admission reads of the delivering actor. */
export type AdmittingActor = Pick<AtLeastOnceDeliveryActor, 'persistenceId' | 'unconfirmedCount' | 'maxUnconfirmedMessages'>;

export class DeliveryAdmission {
  /** Deliveries whose `accepted` or `redriven` event is still being persisted. */
  #deliveries = 0;
  /** Their payload bytes. */
  #bytes = 0;
  /** Dead letters in a `redriven` event still being persisted: a second redrive must not take them again. */
  readonly #redrives = new Set<number>();
  /** Dead letters whose `dead-letter-cancelled` event is being persisted: a redrive now would find nothing to send. */
  readonly #cancels = new Set<number>();

  constructor(
    private readonly actor: AdmittingActor,
    private readonly records: OutboxRecords,
  ) {}

  /**
   * Lets the send in and returns its payload's bytes (now counted as being persisted), or answers
   * `sender` itself (a duplicate, a reused key, a limit; a retry waiting for its first request is
   * answered by `answerWaiting`) and returns undefined.
   */
  admitSend(command: OutboxSend, sender: ActorRef): number | undefined {
    const key = command.idempotencyKey;
    const requestHash = command.requestHash;
    if (key !== undefined) {
      const use = this.records.keys.use(key, requestHash, sender);
      if (use === undefined) return undefined;
      if (use.kind === 'same') {
        sender.tell({ deliveryId: use.deliveryId, duplicate: true } satisfies SendAccepted);
        return undefined;
      }
      if (use.kind === 'reused') {
        sender.tell(new StatusFailure(new IdempotencyKeyReusedError(this.actor.persistenceId, key, use.deliveryId)));
        return undefined;
      }
    }
    const bytes = jsonByteLength(command.payload);
    if (this.#refusedOverLimit(1, bytes, sender)) return undefined;
    if (key !== undefined) this.records.keys.markPending(key, requestHash);
    this.#deliveries++;
    this.#bytes += bytes;
    return bytes;
  }

  /** Of these dead letters, the ones a redrive may take (not already in one being persisted, nor being cancelled). */
  redrivable(deliveryIds: readonly number[]): number[] {
    return deliveryIds.filter((id) => this.records.deadLetters.has(id) && !this.#redrives.has(id) && !this.#cancels.has(id));
  }

  /**
   * A dead letter's cancellation is being persisted; `cancelWritten` when it is stored or refused. (A
   * cancellation asked while a redrive of it is being persisted is written after it, and loses.)
   */
  cancelling(deliveryId: number): void {
    this.#cancels.add(deliveryId);
  }

  cancelWritten(deliveryId: number): void {
    this.#cancels.delete(deliveryId);
  }

  /** Lets the redrive of all of `deliveryIds` in and returns their bytes, or answers `sender` and returns undefined. */
  admitRedrive(deliveryIds: readonly number[], sender: ActorRef): number | undefined {
    // All or nothing: a partial redrive would leave the caller to work out which ones went.
    const bytes = this.#deadLetterBytes(deliveryIds);
    if (this.#refusedOverLimit(deliveryIds.length, bytes, sender)) return undefined;
    this.#deliveries += deliveryIds.length;
    this.#bytes += bytes;
    for (const id of deliveryIds) this.#redrives.add(id);
    return bytes;
  }

  /** The admitted event was stored: its deliveries are counted as unconfirmed from now on. */
  persisted(deliveries: number, bytes: number, redriven?: readonly number[]): void {
    this.#deliveries -= deliveries;
    this.#bytes -= bytes;
    if (redriven !== undefined) for (const id of redriven) this.#redrives.delete(id);
  }

  /** The key's `accepted` event was stored as `deliveryId`: the retries that waited for it hear that id. */
  answerWaiting(key: string, deliveryId: number): void {
    for (const waiter of this.records.keys.settle(key)) waiter.tell({ deliveryId, duplicate: true } satisfies SendAccepted);
  }

  /**
   * The journal refused an admitted event (e.g. PostgreSQL's jsonb refuses a \u0000 in a string):
   * nothing was stored, so the counts are given back and `sender` (and a key's waiters) hear why.
   */
  rejected(event: Extract<OutboxEvent, { type: 'accepted' | 'redriven' }>, cause: Error, sender: ActorRef): void {
    if (event.type === 'accepted') {
      this.#deliveries--;
      this.#bytes -= jsonByteLength(event.payload);
      sender.tell(new StatusFailure(cause));
      const key = event.idempotencyKey;
      if (key !== undefined) for (const waiter of this.records.keys.settle(key)) waiter.tell(new StatusFailure(cause));
      return;
    }
    this.#deliveries -= event.deliveryIds.length;
    this.#bytes -= this.#deadLetterBytes(event.deliveryIds);
    for (const id of event.deliveryIds) this.#redrives.delete(id);
    sender.tell(new StatusFailure(cause));
  }

  /**
   * The journal failed a write (disk full, read-only, connection lost), so the actor stops (Akka's
   * onPersistFailure) and the promise of every persist still pending rejects with the cause: whoever
   * waits for one of them hears it at once instead of when the ask times out. A backoff supervisor
   * brings the outbox back. The same holds when the outbox stops for any other reason meanwhile.
   */
  failed(cause: unknown, sender: ActorRef | undefined, key: string | undefined): void {
    const failure = new StatusFailure(asError(cause));
    sender?.tell(failure);
    if (key !== undefined) for (const waiter of this.records.keys.settle(key)) waiter.tell(failure);
  }

  /** Refuses (answering `sender`) when `count` more deliveries or `bytes` more payload bytes would pass a limit. */
  #refusedOverLimit(count: number, bytes: number, sender: ActorRef): boolean {
    const actor = this.actor;
    if (actor.unconfirmedCount + this.#deliveries + count > actor.maxUnconfirmedMessages) {
      sender.tell(new StatusFailure(new MaxUnconfirmedMessagesExceededError(actor.persistenceId, actor.maxUnconfirmedMessages)));
      return true;
    }
    const payloads = this.records.payloads;
    const held = payloads.bytes + this.#bytes;
    if (held + bytes <= payloads.maxBytes) return false;
    sender.tell(new StatusFailure(new MaxUnconfirmedBytesExceededError(actor.persistenceId, actor.maxUnconfirmedMessages, payloads.maxBytes, held, bytes)));
    return true;
  }

  #deadLetterBytes(deliveryIds: readonly number[]): number {
    let bytes = 0;
    for (const id of deliveryIds) {
      const dead = this.records.deadLetters.get(id);
      if (dead) bytes += jsonByteLength(dead.payload);
    }
    return bytes;
  }
}
