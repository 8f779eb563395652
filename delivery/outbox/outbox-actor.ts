import type { ActorRef } from '../../src/actor/actor-ref.js';
import { asError } from '../../src/actor/errors.js';
import { StatusFailure } from '../../src/actor/messages.js';
import { RecoveryCompleted, SnapshotOffer } from '../../src/persistence/protocol.js';
import { Persistence } from '../../src/persistence/persistence.js';
import type { PersistenceReply } from '../../src/persistence/persistent-actor.js';
import { SnapshotPolicy } from '../../src/persistence/snapshot-policy.js';
import { AtLeastOnceDeliveryActor, type AtLeastOnceDeliveryOptions } from '../at-least-once-delivery-actor.js';
import type { PlainDestination } from '../destination.js';
import { DeliveryNotDeadLetteredError, IdempotencyKeyReusedError, MaxUnconfirmedBytesExceededError, MaxUnconfirmedMessagesExceededError } from '../errors.js';
import { DeliveryAttemptsExhausted, DeliveryConfirmed, DeliveryEnvelope, UnconfirmedWarning, type AtLeastOnceDeliverySnapshot, type DeliveryNotice } from '../messages.js';
import type { JsonValue } from '../transport.js';
import { CancelledDeliveries } from './cancelled-deliveries.js';
import { DeadLetterBook } from './dead-letter-book.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { SnapshotPayloadReader, snapshotDeliveries } from './outbox-snapshot-deliveries.js';
import { pageOf } from './pages.js';
import { payloadBytes, UnconfirmedPayloads } from './unconfirmed-payloads.js';
import {
  OutboxCancel,
  OutboxDeliveryStatus,
  OutboxListPage,
  OutboxQuery,
  OutboxRedrive,
  OutboxSend,
  type DeadLetteredDelivery,
  type DeliveryStatus,
  type OutboxEvent,
  type OutboxSnapshot,
  type OutboxStats,
  type SendAccepted,
  confirmedIdsOf,
} from './outbox-protocol.js';

/** Default of `maxUnconfirmedBytes`: 256 MiB. */
export const DEFAULT_MAX_UNCONFIRMED_BYTES = 256 * 1024 * 1024;

export interface OutboxActorOptions extends AtLeastOnceDeliveryOptions {
  persistenceId: string;
  /** Take a snapshot after this many events. Default 1000. */
  snapshotEvery?: number;
  /** Snapshots kept; older ones are deleted once a newer one is saved. Default 2. */
  keepSnapshots?: number;
  /**
   * Delete the events no kept snapshot needs (those below the oldest kept snapshot and below the
   * `accepted` event of the oldest unconfirmed delivery it references). Default true (false before 0.2.0).
   */
  deleteEventsOnSnapshot?: boolean;
  /**
   * Serialized payload bytes of unconfirmed deliveries held at most; a send past it is refused with
   * MaxUnconfirmedBytesExceededError (a MaxUnconfirmedMessagesExceededError). Default 256 MiB.
   */
  maxUnconfirmedBytes?: number;
  /** Idempotency keys remembered (oldest forgotten first). Default 100 000. */
  maxIdempotencyKeys?: number;
  /**
   * Dead-lettered deliveries kept for inspection and redrive, and as many former dead letters
   * (redriven or dropped), and as many cancelled deliveries, remembered for `status`. Default 10 000.
   */
  maxDeadLetters?: number;
}

/** What `Outbox` (and only it) sends to its actor; confirmations and notices arrive as DeliveryNotice. */
export type OutboxCommand = OutboxSend | OutboxQuery | OutboxDeliveryStatus | OutboxRedrive | OutboxCancel | OutboxListPage;

/**
 * The ready-made durable outbox: `OutboxSend` is persisted (answered once it is in the journal),
 * then delivered with at-least-once semantics; confirmations are persisted too. Events are written
 * with persistAsync, so many sends share one journal write (the journal's group commit does the rest).
 */
export class OutboxActor extends AtLeastOnceDeliveryActor<OutboxCommand, OutboxEvent> {
  readonly persistenceId: string;
  readonly #snapshots: SnapshotPolicy;
  readonly #keys: IdempotencyKeys;
  readonly #payloads: UnconfirmedPayloads;
  /** Set while recovery re-reads the payloads the offered snapshot references. */
  #payloadReader: SnapshotPayloadReader | undefined;
  /** Payload bytes of `accepted` and `redriven` events still being persisted (they count against the budget). */
  #bytesBeingPersisted = 0;
  readonly #deadLetters: DeadLetterBook;
  readonly #cancelled: CancelledDeliveries;
  /** Deliveries whose `accepted` or `redriven` event is still being persisted. */
  #deliveriesBeingPersisted = 0;
  /** Dead letters in a `redriven` event still being persisted: a second redrive must not take them again. */
  readonly #redrivesBeingPersisted = new Set<number>();
  /**
   * Confirmations wait here while the previous `confirmed` event is being written, then go out as one
   * event: under load one journal row per write round trip instead of one per confirmation, and an
   * idle outbox still writes the first confirmation at once. A crash before the write only means the
   * deliveries are sent again, which at-least-once allows.
   */
  readonly #confirmationsToPersist = new Set<number>();
  #confirmationsBeingPersisted = false;
  #accepted = 0;
  #confirmed = 0;
  #highestConfirmed = 0;

  constructor(options: OutboxActorOptions) {
    super(options);
    this.persistenceId = options.persistenceId;
    this.#snapshots = new SnapshotPolicy({ every: options.snapshotEvery ?? 1000, keep: options.keepSnapshots ?? 2, deleteEvents: options.deleteEventsOnSnapshot ?? true });
    this.#payloads = new UnconfirmedPayloads(options.maxUnconfirmedBytes ?? DEFAULT_MAX_UNCONFIRMED_BYTES);
    this.#keys = new IdempotencyKeys(options.maxIdempotencyKeys ?? 100_000);
    this.#deadLetters = new DeadLetterBook(options.maxDeadLetters ?? 10_000);
    this.#cancelled = new CancelledDeliveries(options.maxDeadLetters ?? 10_000);
  }

  onCommand(command: OutboxCommand | PersistenceReply | DeliveryNotice): void {
    if (command instanceof OutboxSend) return this.#send(command);
    if (command instanceof DeliveryConfirmed) {
      if (this.isUnconfirmed(command.deliveryId)) {
        this.#confirmationsToPersist.add(command.deliveryId);
        if (!this.#confirmationsBeingPersisted) this.#persistConfirmations();
      }
      return;
    }
    if (command instanceof OutboxQuery) return this.#query(command);
    if (command instanceof OutboxDeliveryStatus) return this.sender.tell(this.#status(command.deliveryId));
    if (command instanceof OutboxRedrive) return this.#redrive(command);
    if (command instanceof OutboxCancel) return this.#cancel(command);
    if (command instanceof OutboxListPage) return this.#listPage(command);
    if (command instanceof DeliveryAttemptsExhausted) {
      for (const delivery of command.deliveries) {
        void this.persistAsync(
          {
            type: 'dead-lettered',
            deliveryId: delivery.deliveryId,
            reason: delivery.lastError ?? `no confirmation after ${delivery.attempt} attempts`,
            attempts: delivery.attempt,
            at: Date.now(),
          },
          (event) => {
            this.#apply(event);
          },
        );
      }
      return;
    }
    if (command instanceof UnconfirmedWarning) {
      this.log.warn(
        { deliveries: command.unconfirmedDeliveries.map((d) => d.deliveryId).slice(0, 20), count: command.unconfirmedDeliveries.length },
        'deliveries are still unconfirmed after repeated attempts',
      );
      return;
    }
    this.#snapshots.handleReply(command, this, 'outbox');
  }

  onRecover(message: OutboxEvent | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) return;
    if (message instanceof SnapshotOffer) {
      const snapshot = message.snapshot as OutboxSnapshot;
      const reader = new SnapshotPayloadReader(snapshot, message.metadata.sequenceNr);
      this.#snapshots.recovered(message.metadata.sequenceNr, reader.from);
      // Payloads the snapshot references are read back first (recoveryRereadFrom); inline ones are here.
      if (reader.referencesPayloads) this.#payloadReader = reader;
      else this.#restoreDeliveries(reader);
      this.#keys.restore(snapshot.idempotencyKeys);
      this.#deadLetters.restore(snapshot);
      this.#cancelled.restore(snapshot.cancelled);
      this.#accepted = snapshot.acceptedCount;
      this.#confirmed = snapshot.confirmedCount;
      this.#highestConfirmed = snapshot.highestConfirmed;
      return;
    }
    this.#apply(message);
  }

  protected override recoveryRereadFrom(): number | undefined {
    return this.#payloadReader?.from;
  }

  protected override onRecoverCovered(event: OutboxEvent, sequenceNr: number): void {
    this.#payloadReader?.offer(sequenceNr, event);
  }

  protected override onRecoverCoveredDone(): void {
    const reader = this.#payloadReader;
    this.#payloadReader = undefined;
    if (reader) this.#restoreDeliveries(reader);
  }

  #restoreDeliveries(reader: SnapshotPayloadReader): void {
    const entries = reader.snapshot.delivery.unconfirmedDeliveries;
    const deliveries = reader.deliveries(this.persistenceId);
    // Actor destinations get their envelope back here (the snapshot holds plain payloads).
    this.setDeliverySnapshot({
      currentDeliveryId: reader.snapshot.delivery.currentDeliveryId,
      unconfirmedDeliveries: deliveries.map((delivery) => ({
        ...delivery,
        message: this.#messageFor(delivery.destination, delivery.deliveryId, delivery.message) as JsonValue,
      })),
    });
    this.#payloads.clear();
    deliveries.forEach((delivery, index) => {
      this.#payloads.added(delivery.deliveryId, payloadBytes(delivery.message), entries[index]!.payloadAt);
    });
  }

  #persistConfirmations(): void {
    const deliveryIds = [...this.#confirmationsToPersist];
    this.#confirmationsToPersist.clear();
    this.#confirmationsBeingPersisted = true;
    void this.persistAsync({ type: 'confirmed', deliveryIds }, (event) => {
      this.#confirmationsBeingPersisted = false;
      this.#apply(event);
      if (this.#confirmationsToPersist.size > 0) this.#persistConfirmations();
    });
  }

  /**
   * The journal failed a write (disk full, read-only, connection lost), so the actor stops (Akka's
   * onPersistFailure) and the promise of every persist still pending rejects with the cause: whoever
   * waits for one of them hears it at once instead of when the ask times out. A backoff supervisor
   * brings the outbox back. The same holds when the outbox stops for any other reason meanwhile.
   */
  #answerFailedWrite(cause: unknown, sender: ActorRef | undefined, key: string | undefined): void {
    const failure = new StatusFailure(asError(cause));
    sender?.tell(failure);
    if (key !== undefined) for (const waiter of this.#keys.settle(key)) waiter.tell(failure);
  }

  /**
   * The journal refused an event (e.g. PostgreSQL's jsonb refuses a \u0000 in a string): nothing was
   * stored, so the asker hears why at once instead of timing out, and the counts taken before
   * persisting are given back.
   */
  override onPersistRejected(cause: Error, event: OutboxEvent, sequenceNr: number): void {
    super.onPersistRejected(cause, event, sequenceNr);
    switch (event.type) {
      case 'accepted': {
        this.#deliveriesBeingPersisted--;
        this.#bytesBeingPersisted -= payloadBytes(event.payload);
        this.sender.tell(new StatusFailure(cause));
        const key = event.idempotencyKey;
        if (key !== undefined) for (const waiter of this.#keys.settle(key)) waiter.tell(new StatusFailure(cause));
        break;
      }
      case 'redriven':
        this.#deliveriesBeingPersisted -= event.deliveryIds.length;
        this.#bytesBeingPersisted -= this.#deadLetterBytes(event.deliveryIds);
        for (const id of event.deliveryIds) this.#redrivesBeingPersisted.delete(id);
        this.sender.tell(new StatusFailure(cause));
        break;
      case 'confirmed':
        // Those deliveries stay unconfirmed and are sent again; their next confirmation is written anew.
        this.#confirmationsBeingPersisted = false;
        if (this.#confirmationsToPersist.size > 0) this.#persistConfirmations();
        break;
      case 'dead-lettered':
        // The delivery stays listed in flight, marked exhausted and no longer sent; after a restart its
        // attempts start over. Logged above, so an operator can see why it never became a dead letter.
        break;
      case 'cancelled':
        // Not cancelled: it stays in flight, and the operator hears why.
        this.sender.tell(new StatusFailure(cause));
        break;
    }
  }

  #send(command: OutboxSend): void {
    const key = command.idempotencyKey;
    const requestHash = command.requestHash;
    if (key !== undefined) {
      const use = this.#keys.use(key, requestHash, this.sender);
      if (use === undefined) return;
      if (use.kind === 'same') {
        this.sender.tell({ deliveryId: use.deliveryId, duplicate: true } satisfies SendAccepted);
        return;
      }
      if (use.kind === 'reused') {
        this.sender.tell(new StatusFailure(new IdempotencyKeyReusedError(this.persistenceId, key, use.deliveryId)));
        return;
      }
    }
    const { destination, payload } = command;
    const bytes = payloadBytes(payload);
    if (this.#refusedOverLimit(1, bytes)) return;
    if (key !== undefined) this.#keys.markPending(key, requestHash);
    this.#deliveriesBeingPersisted++;
    this.#bytesBeingPersisted += bytes;
    // Two literals rather than a conditional spread, which V8 builds as a slow dictionary object.
    const event: OutboxEvent =
      key === undefined
        ? { type: 'accepted', destination, payload, acceptedAt: Date.now() }
        : requestHash === undefined
          ? { type: 'accepted', destination, payload, idempotencyKey: key, acceptedAt: Date.now() }
          : { type: 'accepted', destination, payload, idempotencyKey: key, requestHash, acceptedAt: Date.now() };
    const sender = this.sender;
    this.persistAsync(event, (persisted) => {
      this.#deliveriesBeingPersisted--;
      this.#bytesBeingPersisted -= bytes;
      const deliveryId = this.#apply(persisted, bytes);
      this.sender.tell({ deliveryId, duplicate: false } satisfies SendAccepted);
      if (key !== undefined) for (const waiter of this.#keys.settle(key)) waiter.tell({ deliveryId, duplicate: true } satisfies SendAccepted);
    }).catch((cause: unknown) => this.#answerFailedWrite(cause, sender, key));
  }

  /**
   * Refuses (answering the asker) when `count` more deliveries would pass maxUnconfirmedMessages, or
   * `bytes` more payload bytes maxUnconfirmedBytes. Checked before persisting: once an `accepted` or
   * `redriven` event is stored, `deliver` must not throw in its handler (that would fail the actor),
   * so what is still being persisted counts too.
   */
  #refusedOverLimit(count: number, bytes: number): boolean {
    if (this.unconfirmedCount + this.#deliveriesBeingPersisted + count > this.maxUnconfirmedMessages) {
      this.sender.tell(new StatusFailure(new MaxUnconfirmedMessagesExceededError(this.persistenceId, this.maxUnconfirmedMessages)));
      return true;
    }
    const held = this.#payloads.bytes + this.#bytesBeingPersisted;
    if (held + bytes <= this.#payloads.maxBytes) return false;
    this.sender.tell(new StatusFailure(new MaxUnconfirmedBytesExceededError(this.persistenceId, this.maxUnconfirmedMessages, this.#payloads.maxBytes, held, bytes)));
    return true;
  }

  #deadLetterBytes(deliveryIds: readonly number[]): number {
    let bytes = 0;
    for (const id of deliveryIds) {
      const dead = this.#deadLetters.get(id);
      if (dead) bytes += payloadBytes(dead.payload);
    }
    return bytes;
  }

  /**
   * Applies an event to the state (live and during replay); returns the delivery id of an `accepted`.
   * `acceptedBytes`: the payload's size when the caller measured it already.
   */
  #apply(event: OutboxEvent, acceptedBytes?: number): number {
    this.#snapshots.applied();
    let deliveryId = 0;
    switch (event.type) {
      case 'accepted': {
        this.#accepted++;
        deliveryId = this.deliver(event.destination, (id) => this.#messageFor(event.destination, id, event.payload));
        // lastSequenceNr is this event's, live and in replay: the snapshot can reference the payload here.
        this.#payloads.added(deliveryId, acceptedBytes ?? payloadBytes(event.payload), this.lastSequenceNr);
        if (event.idempotencyKey !== undefined) this.#keys.remember(event.idempotencyKey, deliveryId, event.requestHash);
        break;
      }
      case 'confirmed':
        for (const id of confirmedIdsOf(event)) {
          if (this.confirmDelivery(id)) {
            this.#payloads.removed(id);
            this.#confirmed++;
            this.#highestConfirmed = Math.max(this.#highestConfirmed, id);
          }
        }
        break;
      case 'dead-lettered': {
        const info = this.unconfirmedDelivery(event.deliveryId);
        if (info && this.confirmDelivery(event.deliveryId)) {
          this.#payloads.removed(event.deliveryId);
          const dropped = this.#deadLetters.add({
            deliveryId: event.deliveryId,
            destination: info.destination,
            payload: this.#payloadOf(info.message),
            attempts: event.attempts,
            reason: event.reason,
            deadLetteredAt: event.at,
          });
          // The message is given up for good here; replay would only repeat the warning.
          if (!this.isRecovering) {
            for (const dead of dropped)
              this.log.warn({ deliveryId: dead.deliveryId, maxDeadLetters: this.#deadLetters.max }, 'dropped the oldest dead letter: maxDeadLetters reached');
          }
        }
        break;
      }
      case 'redriven':
        for (const id of event.deliveryIds) {
          const dead = this.#deadLetters.take(id);
          if (!dead) continue;
          const newId = this.deliver(dead.destination, (assigned) => this.#messageFor(dead.destination, assigned, dead.payload));
          // No event holds this payload any more (the `redriven` event names ids only): snapshots carry it inline.
          this.#payloads.added(newId, payloadBytes(dead.payload), undefined);
          this.#deadLetters.redriven(id, newId);
        }
        break;
      case 'cancelled': {
        // Confirmed or dead-lettered before the cancellation was written: then it was not cancelled.
        if (this.confirmDelivery(event.deliveryId)) this.#cancelled.add({ deliveryId: event.deliveryId, attempts: event.attempts, cancelledAt: event.at });
        break;
      }
    }
    if (!this.isRecovering) this.#maybeSnapshot();
    return deliveryId;
  }

  #messageFor(destination: PlainDestination, deliveryId: number, payload: unknown): unknown {
    // Actors get an envelope naming sender and id (they confirm by replying DeliveryConfirmed);
    // transports put those into message headers themselves.
    return typeof destination === 'string' ? new DeliveryEnvelope(this.persistenceId, deliveryId, payload) : payload;
  }

  /** The delivery snapshot with envelopes (class instances) replaced by their plain payloads. */
  #plainDeliverySnapshot(): AtLeastOnceDeliverySnapshot {
    const snapshot = this.getDeliverySnapshot();
    return {
      currentDeliveryId: snapshot.currentDeliveryId,
      unconfirmedDeliveries: snapshot.unconfirmedDeliveries.map((delivery) => ({ ...delivery, message: this.#payloadOf(delivery.message) })),
    };
  }

  #payloadOf(message: unknown): DeadLetteredDelivery['payload'] {
    return (message instanceof DeliveryEnvelope ? message.payload : message) as DeadLetteredDelivery['payload'];
  }

  #maybeSnapshot(): void {
    if (!this.#snapshots.takeIfDue()) return;
    const { delivery, needsFrom } = snapshotDeliveries(
      this.#plainDeliverySnapshot(),
      this.#payloads,
      this.lastSequenceNr,
      this.#snapshots.every,
      Persistence.get(this.context.system).journal.volatile === true,
    );
    this.#snapshots.saving(this.lastSequenceNr, needsFrom);
    const snapshot: OutboxSnapshot = {
      delivery,
      idempotencyKeys: this.#keys.entries(),
      ...this.#deadLetters.snapshotFields(),
      confirmedCount: this.#confirmed,
      acceptedCount: this.#accepted,
      highestConfirmed: this.#highestConfirmed,
      cancelled: this.#cancelled.snapshot(),
    };
    this.saveSnapshot(snapshot);
  }

  #query(query: OutboxQuery): void {
    switch (query.what) {
      case 'in-flight':
        this.sender.tell(this.unconfirmedDeliveries().map((delivery) => ({ ...delivery, message: this.#payloadOf(delivery.message) })));
        return;
      case 'dead-letters':
        this.sender.tell(this.#deadLetters.list());
        return;
      case 'stats':
      case 'delivery': {
        const stats: OutboxStats = {
          accepted: this.#accepted,
          sent: this.sendCount,
          redelivered: this.redeliveryCount,
          confirmed: this.#confirmed,
          deadLettered: this.#deadLetters.size,
          inFlight: this.unconfirmedCount,
          inFlightBytes: this.#payloads.bytes,
          lastSequenceNr: this.lastSequenceNr,
        };
        this.sender.tell(stats);
        return;
      }
    }
  }

  #status(deliveryId: number): DeliveryStatus {
    const inFlight = this.unconfirmedDelivery(deliveryId);
    if (inFlight) return { status: 'in-flight', deliveryId, attempts: inFlight.attempt, lastError: inFlight.lastError, destination: inFlight.destination };
    if (deliveryId < 1 || deliveryId > this.currentDeliveryId) return { status: 'unknown', deliveryId };
    const cancelled = this.#cancelled.get(deliveryId);
    if (cancelled) return { status: 'cancelled', ...cancelled };
    const known = this.#deadLetters.statusOf(deliveryId);
    if (known !== 'finished') return known;
    return this.#cancelled.mayHaveForgotten(deliveryId) ? { status: 'forgotten', deliveryId } : { status: 'confirmed', deliveryId };
  }

  /** Answers the delivery's status afterwards: `cancelled`, or what it was instead (confirmed, dead-lettered, unknown, ...). */
  #cancel(command: OutboxCancel): void {
    const { deliveryId } = command;
    const inFlight = this.unconfirmedDelivery(deliveryId);
    if (!inFlight) return this.sender.tell(this.#status(deliveryId));
    // Attempts are not persisted (a replay starts them over): the event keeps what the operator saw.
    void this.persistAsync({ type: 'cancelled', deliveryId, attempts: inFlight.attempt, at: Date.now() }, (event) => {
      this.#apply(event);
      this.sender.tell(this.#status(deliveryId));
    });
  }

  #listPage(command: OutboxListPage): void {
    if (command.what === 'in-flight') {
      const inFlight = this.unconfirmedDeliveries().map((delivery) => ({ ...delivery, message: this.#payloadOf(delivery.message) }));
      this.sender.tell(pageOf(inFlight, command.after, command.limit));
    } else {
      this.sender.tell(pageOf(this.#deadLetters.list(), command.after, command.limit));
    }
  }

  #redrive(command: OutboxRedrive): void {
    const requested = command.deliveryId === undefined ? this.#deadLetters.ids() : [command.deliveryId];
    const ids = requested.filter((id) => this.#deadLetters.has(id) && !this.#redrivesBeingPersisted.has(id));
    if (ids.length === 0) {
      if (command.deliveryId !== undefined) this.sender.tell(new StatusFailure(new DeliveryNotDeadLetteredError(this.persistenceId, command.deliveryId)));
      else this.sender.tell([]);
      return;
    }
    // All or nothing: a partial redrive would leave the caller to work out which ones went.
    const bytes = this.#deadLetterBytes(ids);
    if (this.#refusedOverLimit(ids.length, bytes)) return;
    this.#deliveriesBeingPersisted += ids.length;
    this.#bytesBeingPersisted += bytes;
    for (const id of ids) this.#redrivesBeingPersisted.add(id);
    const sender = this.sender;
    this.persistAsync({ type: 'redriven', deliveryIds: ids }, (event) => {
      this.#deliveriesBeingPersisted -= ids.length;
      this.#bytesBeingPersisted -= bytes;
      for (const id of ids) this.#redrivesBeingPersisted.delete(id);
      this.#apply(event);
      // A dead letter dropped meanwhile (maxDeadLetters) was not sent again: the answer says so.
      this.sender.tell(event.deliveryIds.filter((id) => this.#deadLetters.wasRedriven(id)));
    }).catch((cause: unknown) => this.#answerFailedWrite(cause, sender, undefined));
  }
}
