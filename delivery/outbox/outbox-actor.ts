import { StatusFailure } from '../../src/actor/messages.js';
import { RecoveryCompleted, SnapshotOffer } from '../../src/persistence/protocol.js';
import { Persistence } from '../../src/persistence/persistence.js';
import type { PersistenceReply } from '../../src/persistence/persistent-actor.js';
import { SnapshotPolicy } from '../../src/persistence/snapshot-policy.js';
import { AtLeastOnceDeliveryActor, type DeliverOptions } from '../at-least-once-delivery-actor.js';
import { DeliveryNotDeadLetteredError } from '../errors.js';
import { DeliveryAttemptsExhausted, DeliveryConfirmed, UnconfirmedWarning, type DeliveryNotice } from '../messages.js';
import { ConfirmationBatch } from './confirmation-batch.js';
import { DeliveryAdmission } from './delivery-admission.js';
import { messageFor, payloadOf } from './envelopes.js';
import { OutboxQueries } from './outbox-queries.js';
import { OutboxRecords } from './outbox-records.js';
import { SnapshotPayloadReader, snapshotDeliveries } from './outbox-snapshot-deliveries.js';
import { jsonByteLength } from '../json-byte-length.js';
import { DEFAULT_MAX_UNCONFIRMED_BYTES, type OutboxActorOptions } from './outbox-actor-options.js';
import { notifierOf, type OutboxNotifier } from './outbox-observer.js';
import {
  OutboxCancel,
  OutboxDeliveryStatus,
  OutboxListPage,
  OutboxQuery,
  OutboxRedrive,
  OutboxSend,
  type OutboxEvent,
  type OutboxSnapshot,
  type SendAccepted,
  confirmedIdsOf,
} from './outbox-protocol.js';

const UNTRACED: DeliverOptions = {};

/** An `accepted` event's trace for `deliver` (older events have none). */
function traceOf(event: Extract<OutboxEvent, { type: 'accepted' }>): DeliverOptions {
  return event.trace === undefined ? UNTRACED : { trace: event.trace };
}

/** What `Outbox` (and only it) sends to its actor; confirmations and notices arrive as DeliveryNotice. */
export type OutboxCommand = OutboxSend | OutboxQuery | OutboxDeliveryStatus | OutboxRedrive | OutboxCancel | OutboxListPage;

/**
 * The ready-made durable outbox: `OutboxSend` is persisted (answered once it is in the journal),
 * then delivered with at-least-once semantics; confirmations are persisted too. Events are written
 * with persistAsync, so many sends share one journal write (the journal's group commit does the rest).
 *
 * The actor turns commands into events and applies them (`#apply`, live and in replay); what it
 * remembers is in OutboxRecords, what is let in before persisting in DeliveryAdmission, the answers
 * in OutboxQueries, the batching of confirmations in ConfirmationBatch.
 */
export type { OutboxActorOptions } from './outbox-actor-options.js';

export class OutboxActor extends AtLeastOnceDeliveryActor<OutboxCommand, OutboxEvent> {
  readonly persistenceId: string;
  readonly #snapshots: SnapshotPolicy;
  readonly #records: OutboxRecords;
  readonly #admission: DeliveryAdmission;
  readonly #queries: OutboxQueries;
  readonly #confirmations: ConfirmationBatch;
  /** Set while recovery re-reads the payloads the offered snapshot references. */
  #payloadReader: SnapshotPayloadReader | undefined;
  readonly #notify: OutboxNotifier;
  /** Wall-clock accept (or redrive) time per unconfirmed delivery; kept only for an observer of `confirmed`. */
  readonly #acceptedAt: Map<number, number> | undefined;
  /** Recovery starts right after construction: its duration is measured from here. */
  readonly #constructedAt = performance.now();

  constructor(options: OutboxActorOptions) {
    super(options);
    this.persistenceId = options.persistenceId;
    this.#snapshots = new SnapshotPolicy({ every: options.snapshotEvery ?? 1000, keep: options.keepSnapshots ?? 2, deleteEvents: options.deleteEventsOnSnapshot ?? true });
    this.#records = new OutboxRecords({
      maxUnconfirmedBytes: options.maxUnconfirmedBytes ?? DEFAULT_MAX_UNCONFIRMED_BYTES,
      maxIdempotencyKeys: options.maxIdempotencyKeys ?? 100_000,
      maxDeadLetters: options.maxDeadLetters ?? 10_000,
    });
    this.#admission = new DeliveryAdmission(this, this.#records);
    this.#queries = new OutboxQueries(this, this.#records);
    this.#notify = notifierOf(options.observer, (error, callback) => this.log.warn({ err: error, callback }, 'an outbox observer callback threw; ignored'));
    this.#acceptedAt = options.observer?.confirmed === undefined ? undefined : new Map();
    this.#confirmations = new ConfirmationBatch((deliveryIds) => {
      void this.persistAsync({ type: 'confirmed', deliveryIds }, (event) => this.#confirmations.stored(() => this.#apply(event)));
    });
  }

  onCommand(command: OutboxCommand | PersistenceReply | DeliveryNotice): void {
    if (command instanceof OutboxSend) return this.#send(command);
    if (command instanceof DeliveryConfirmed) {
      if (this.isUnconfirmed(command.deliveryId)) this.#confirmations.add(command.deliveryId);
      return;
    }
    if (command instanceof OutboxQuery) return this.sender.tell(this.#queries.answer(command));
    if (command instanceof OutboxDeliveryStatus) return this.sender.tell(this.#queries.status(command.deliveryId));
    if (command instanceof OutboxRedrive) return this.#redrive(command);
    if (command instanceof OutboxCancel) return this.#cancel(command);
    if (command instanceof OutboxListPage) return this.sender.tell(this.#queries.page(command));
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
            const wasInFlight = this.unconfirmedDelivery(event.deliveryId) !== undefined;
            this.#apply(event);
            // Once, when it is stored (never again in a replay), with what the operator needs to act.
            if (wasInFlight) {
              this.#notify.deadLettered(event.deliveryId, event.reason);
              this.log.warn(
                { deliveryId: event.deliveryId, attempts: event.attempts, reason: event.reason },
                `delivery ${event.deliveryId} dead-lettered after ${event.attempts} attempts: ${event.reason}`,
              );
            }
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

  /**
   * Records what a redelivery pass sent, after the sends (one event per pass, not per delivery), so that
   * `deadLetterAfterAttempts` and the attempt numbers hold across restarts: a crash between the sends
   * and this write costs at most one extra attempt.
   */
  protected override onRedelivered(redelivered: readonly (readonly [deliveryId: number, attempt: number])[]): void {
    void this.persistAsync({ type: 'attempted', attempts: redelivered.map(([id, attempt]) => [id, attempt] as const) }, (event) => {
      this.#apply(event);
    });
  }

  /** Outside the mailbox, when the transport settles: it only reports. */
  protected override onSendFailed(deliveryId: number, error: unknown): void {
    this.#notify.attemptFailed(deliveryId, error);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ deliveryId, err: error }, `delivery ${deliveryId}: attempt failed, sent again later`);
  }

  onRecover(message: OutboxEvent | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) {
      this.#notify.recovered(performance.now() - this.#constructedAt, this.unconfirmedCount);
      return;
    }
    if (message instanceof SnapshotOffer) {
      const snapshot = message.snapshot as OutboxSnapshot;
      const reader = new SnapshotPayloadReader(snapshot, message.metadata.sequenceNr);
      this.#snapshots.recovered(message.metadata.sequenceNr, reader.from);
      // Payloads the snapshot references are read back first (recoveryRereadFrom); inline ones are here.
      if (reader.referencesPayloads) this.#payloadReader = reader;
      else reader.restore(this, this.#records.payloads);
      this.#records.restore(snapshot);
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
    if (reader) reader.restore(this, this.#records.payloads);
  }

  /** The journal refused an event: nothing was stored, so the asker hears why at once instead of timing out. */
  override onPersistRejected(cause: Error, event: OutboxEvent, sequenceNr: number): void {
    super.onPersistRejected(cause, event, sequenceNr);
    switch (event.type) {
      case 'accepted':
      case 'redriven':
        this.#admission.rejected(event, cause, this.sender);
        break;
      case 'confirmed':
        this.#confirmations.refused();
        break;
      case 'dead-lettered':
        // The delivery stays listed in flight, marked exhausted and no longer sent; after a restart its
        // attempts start over. Logged above, so an operator can see why it never became a dead letter.
        break;
      case 'cancelled':
      case 'dead-letter-cancelled':
        // Not cancelled: it stays in flight (or a dead letter), and the operator hears why.
        if (event.type === 'dead-letter-cancelled') this.#admission.cancelWritten(event.deliveryId);
        this.sender.tell(new StatusFailure(cause));
        break;
    }
  }

  #send(command: OutboxSend): void {
    const bytes = this.#admission.admitSend(command, this.sender);
    if (bytes === undefined) return;
    const { destination, payload, idempotencyKey: key, requestHash, trace } = command;
    // Literals rather than a conditional spread, which V8 builds as a slow dictionary object.
    const untraced: OutboxEvent =
      key === undefined
        ? { type: 'accepted', destination, payload, acceptedAt: Date.now() }
        : requestHash === undefined
          ? { type: 'accepted', destination, payload, idempotencyKey: key, acceptedAt: Date.now() }
          : { type: 'accepted', destination, payload, idempotencyKey: key, requestHash, acceptedAt: Date.now() };
    const event: OutboxEvent = trace === undefined ? untraced : { ...untraced, trace };
    const sender = this.sender;
    this.persistAsync(event, (persisted) => {
      this.#admission.persisted(1, bytes);
      const deliveryId = this.#apply(persisted, bytes);
      this.sender.tell({ deliveryId, duplicate: false } satisfies SendAccepted);
      this.#notify.accepted(deliveryId);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ deliveryId }, `delivery ${deliveryId}: accepted and sent`);
      if (key !== undefined) this.#admission.answerWaiting(key, deliveryId);
    }).catch((cause: unknown) => this.#admission.failed(cause, sender, key));
  }

  #redrive(command: OutboxRedrive): void {
    const deadLetters = this.#records.deadLetters;
    const ids = this.#admission.redrivable(command.deliveryId === undefined ? deadLetters.ids() : [command.deliveryId]);
    if (ids.length === 0) {
      if (command.deliveryId !== undefined) this.sender.tell(new StatusFailure(new DeliveryNotDeadLetteredError(this.persistenceId, command.deliveryId)));
      else this.sender.tell([]);
      return;
    }
    const bytes = this.#admission.admitRedrive(ids, this.sender);
    if (bytes === undefined) return;
    const sender = this.sender;
    this.persistAsync({ type: 'redriven', deliveryIds: ids }, (event) => {
      this.#admission.persisted(ids.length, bytes, ids);
      this.#apply(event);
      // A dead letter dropped meanwhile (maxDeadLetters) was not sent again: the answer says so.
      const redriven = event.deliveryIds.filter((id) => deadLetters.wasRedriven(id));
      this.sender.tell(redriven);
      if (redriven.length > 0) this.log.info({ deliveryIds: redriven.slice(0, 20), count: redriven.length }, `redrove ${redriven.length} dead letter(s)`);
    }).catch((cause: unknown) => this.#admission.failed(cause, sender, undefined));
  }

  /** Answers the delivery's status afterwards: `cancelled`, or what it was instead (confirmed, dead-lettered, unknown, ...). */
  #cancel(command: OutboxCancel): void {
    const { deliveryId } = command;
    if (command.of === 'dead-letter') return this.#cancelDeadLetter(deliveryId);
    const inFlight = this.unconfirmedDelivery(deliveryId);
    if (!inFlight) return this.sender.tell(this.#queries.status(deliveryId));
    // Attempts are not persisted (a replay starts them over): the event keeps what the operator saw.
    void this.persistAsync({ type: 'cancelled', deliveryId, attempts: inFlight.attempt, at: Date.now() }, (event) => {
      this.#apply(event);
      this.sender.tell(this.#queries.status(deliveryId));
    });
  }

  /**
   * Removes a dead letter for good. Against a redrive of it the event written first wins (live and on
   * replay alike): a redrive being written makes this one a no-op that answers `redriven`, and while
   * this one is being written a redrive is refused (admission).
   */
  #cancelDeadLetter(deliveryId: number): void {
    if (!this.#records.deadLetters.has(deliveryId)) return this.sender.tell(this.#queries.status(deliveryId));
    this.#admission.cancelling(deliveryId);
    void this.persistAsync({ type: 'dead-letter-cancelled', deliveryId, at: Date.now() }, (event) => {
      this.#admission.cancelWritten(deliveryId);
      this.#apply(event);
      this.sender.tell(this.#queries.status(deliveryId));
    });
  }

  /**
   * Applies an event to the state (live and during replay); returns the delivery id of an `accepted`.
   * `acceptedBytes`: the payload's size when the caller measured it already.
   */
  #apply(event: OutboxEvent, acceptedBytes?: number): number {
    this.#snapshots.applied();
    const records = this.#records;
    let deliveryId = 0;
    switch (event.type) {
      case 'accepted': {
        records.accepted++;
        deliveryId = this.deliver(event.destination, (id) => messageFor(this.persistenceId, event.destination, id, event.payload), traceOf(event));
        // lastSequenceNr is this event's, live and in replay: the snapshot can reference the payload here.
        records.payloads.added(deliveryId, acceptedBytes ?? jsonByteLength(event.payload), this.lastSequenceNr);
        this.#acceptedAt?.set(deliveryId, event.acceptedAt);
        if (event.idempotencyKey !== undefined) records.keys.remember(event.idempotencyKey, deliveryId, event.requestHash);
        break;
      }
      case 'confirmed': {
        const now = this.isRecovering ? undefined : Date.now();
        for (const id of confirmedIdsOf(event)) {
          if (this.confirmDelivery(id)) {
            records.payloads.removed(id);
            records.confirmed++;
            records.highestConfirmed = Math.max(records.highestConfirmed, id);
            const acceptedAt = this.#settled(id);
            if (now !== undefined) this.#confirmedLive(id, acceptedAt === undefined ? undefined : Math.max(0, now - acceptedAt));
          }
        }
        break;
      }
      case 'dead-lettered': {
        const info = this.unconfirmedDelivery(event.deliveryId);
        if (info && this.confirmDelivery(event.deliveryId)) {
          records.payloads.removed(event.deliveryId);
          this.#settled(event.deliveryId);
          const dropped = records.deadLetters.add({
            deliveryId: event.deliveryId,
            destination: info.destination,
            payload: payloadOf(info.message),
            attempts: event.attempts,
            reason: event.reason,
            deadLetteredAt: event.at,
          });
          // The message is given up for good here; replay would only repeat the warning.
          if (!this.isRecovering) {
            for (const dead of dropped)
              this.log.warn({ deliveryId: dead.deliveryId, maxDeadLetters: records.deadLetters.max }, 'dropped the oldest dead letter: maxDeadLetters reached');
          }
        }
        break;
      }
      case 'redriven':
        for (const id of event.deliveryIds) {
          const dead = records.deadLetters.take(id);
          if (!dead) continue;
          const newId = this.deliver(dead.destination, (assigned) => messageFor(this.persistenceId, dead.destination, assigned, dead.payload));
          // No event holds this payload any more (the `redriven` event names ids only): snapshots carry it inline.
          records.payloads.added(newId, jsonByteLength(dead.payload), undefined);
          records.deadLetters.redriven(id, newId);
          // The redrive event has no time of its own: a replayed redrive's latency is not known.
          if (!this.isRecovering) {
            this.#acceptedAt?.set(newId, Date.now());
            this.#notify.redriven(id, newId);
          }
        }
        break;
      case 'cancelled': {
        // Confirmed or dead-lettered before the cancellation was written: then it was not cancelled.
        if (this.confirmDelivery(event.deliveryId)) {
          records.cancelled.add({ deliveryId: event.deliveryId, attempts: event.attempts, cancelledAt: event.at });
          this.#settled(event.deliveryId);
          if (!this.isRecovering) {
            this.#notify.cancelled(event.deliveryId, 'in-flight');
            this.log.info({ deliveryId: event.deliveryId, attempts: event.attempts }, `delivery ${event.deliveryId} cancelled`);
          }
        }
        break;
      }
      case 'dead-letter-cancelled': {
        // Redriven or dropped before the cancellation was written: then it was not cancelled.
        const dead = records.deadLetters.take(event.deliveryId);
        if (dead) {
          records.cancelled.add({ deliveryId: event.deliveryId, attempts: dead.attempts, cancelledAt: event.at });
          if (!this.isRecovering) {
            this.#notify.cancelled(event.deliveryId, 'dead-letter');
            this.log.info({ deliveryId: event.deliveryId, attempts: dead.attempts }, `dead letter ${event.deliveryId} cancelled: it is not sent again`);
          }
        }
        break;
      }
      case 'attempted':
        // Live, the counts are already these; in replay they bring back what the sends had reached.
        for (const [id, attempt] of event.attempts) this.restoreDeliveryAttempt(id, attempt);
        break;
    }
    if (!this.isRecovering) this.#maybeSnapshot();
    return deliveryId;
  }

  /** Forgets the accept time of a delivery that left the in-flight set; returns it. */
  #settled(deliveryId: number): number | undefined {
    const acceptedAt = this.#acceptedAt?.get(deliveryId);
    if (acceptedAt !== undefined) this.#acceptedAt!.delete(deliveryId);
    return acceptedAt;
  }

  #confirmedLive(deliveryId: number, acceptToConfirmMs: number | undefined): void {
    this.#notify.confirmed(deliveryId, acceptToConfirmMs);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ deliveryId, acceptToConfirmMs }, `delivery ${deliveryId}: confirmed`);
  }

  #maybeSnapshot(): void {
    if (!this.#snapshots.takeIfDue(this.unconfirmedCount)) return;
    const { delivery, needsFrom } = snapshotDeliveries(
      this.getDeliverySnapshot(),
      this.#records.payloads,
      this.lastSequenceNr,
      this.#snapshots.every,
      Persistence.get(this.context.system).journal.volatile === true,
    );
    this.#snapshots.saving(this.lastSequenceNr, needsFrom);
    this.saveSnapshot(this.#records.snapshot(delivery));
  }
}
