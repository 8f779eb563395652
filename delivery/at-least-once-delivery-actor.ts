import { isActorRef, type ActorRef } from '../src/actor/actor-ref.js';
import type { PersistentActorSettings } from '../src/persistence/persistence-settings.js';
import { PersistentActor, type PersistenceReply } from '../src/persistence/persistent-actor.js';
import { SaveSnapshotFailure, SaveSnapshotSuccess } from '../src/persistence/protocol.js';
import { AtLeastOnceDeliverySemantic } from './at-least-once-delivery-semantic.js';
import { resolveDeliverySettings, type AtLeastOnceDeliverySettings } from './delivery-settings.js';
import type { DeliveryInfo, DeliveryRecord } from './delivery-record.js';
import { heldValue } from './held-message.js';
import { describeDestination, validateDestination, type Destination } from './destination.js';
import { DeliveryAttemptsExhausted, DeliveryConfirmed, UnconfirmedWarning, type AtLeastOnceDeliverySnapshot, type DeliveryNotice } from './messages.js';
import { SenderIdentities, type SenderIdentity } from './sender-identity.js';
import { DeliveryTransports, ReceiverConfirmation } from './transports.js';
import type { TransportDestination } from './transport.js';
import { attemptAttributes } from './tracing/attributes.js';
import { deliveryTracing } from './tracing/delivery-tracing.js';
import { storedTraceCarrier, type TraceCarrier } from './tracing/trace-context.js';

export type { DeliveryInfo } from './delivery-record.js';

class RedeliveryTick {
  static readonly instance = new RedeliveryTick();
}

const REDELIVERY_TIMER = Symbol('steadfast.redelivery');
/** At most one warning about ignored confirmations per this many ms (they may come in floods). */
const REJECTED_CONFIRMATION_LOG_INTERVAL_MS = 10_000;

export type AtLeastOnceDeliveryOptions = AtLeastOnceDeliverySettings & PersistentActorSettings;

/** Per delivery: what `deliver` keeps besides the message. */
export interface DeliverOptions {
  /**
   * The trace the delivery belongs to (W3C `traceparent`, `tracestate`): every attempt sends it on,
   * under the attempt's span when an OpenTelemetry SDK records. Keep it in the event whose handler
   * calls `deliver` (take it with `currentTraceCarrier()` where the command is made), so replay
   * restores it; delivery snapshots keep it. A malformed one is ignored.
   */
  readonly trace?: TraceCarrier | undefined;
}

/**
 * A persistent actor that sends with at-least-once semantics (Akka's AtLeastOnceDeliveryActor).
 * Call `deliver` from an event handler (so replay rebuilds the unconfirmed set) and `confirmDelivery`
 * from the handler of the event that records the confirmation. Unconfirmed deliveries are sent again
 * every `redeliverInterval` until confirmed, also after a crash: right after recovery, before any new
 * command is handled.
 */
export abstract class AtLeastOnceDeliveryActor<Command = unknown, Event = unknown> extends PersistentActor<Command, Event> {
  readonly #state: AtLeastOnceDeliverySemantic;
  #timerRunning = false;
  #transports: DeliveryTransports | undefined;
  #sendFailures = 0;
  #rejectedConfirmations = 0;
  #rejectedConfirmationsLoggedAt = Number.NEGATIVE_INFINITY;

  /**
   * Commands, persistence replies, and the delivery notices (`DeliveryConfirmed` from transports,
   * `UnconfirmedWarning`, `DeliveryAttemptsExhausted`). As for PersistentActor, a subclass declares
   * only what it handles, e.g. `onCommand(command: Command | DeliveryConfirmed)`.
   */
  abstract override onCommand(command: Command | PersistenceReply | DeliveryNotice): void | Promise<void>;

  constructor(options: AtLeastOnceDeliveryOptions = {}) {
    super(options);
    const systemDefaults = resolveDeliverySettings(this.context.system.options.atLeastOnceDelivery);
    this.#state = new AtLeastOnceDeliverySemantic(() => this.persistenceId, resolveDeliverySettings(options, systemDefaults));
  }

  get redeliverInterval(): number {
    return this.#state.settings.redeliverInterval;
  }

  get redeliveryBurstLimit(): number {
    return this.#state.settings.redeliveryBurstLimit;
  }

  get warnAfterNumberOfUnconfirmedAttempts(): number {
    return this.#state.settings.warnAfterNumberOfUnconfirmedAttempts;
  }

  get maxUnconfirmedMessages(): number {
    return this.#state.settings.maxUnconfirmedMessages;
  }

  get unconfirmedCount(): number {
    return this.#state.size;
  }

  /** The highest delivery id handed out so far (0 before the first delivery). */
  get currentDeliveryId(): number {
    return this.#state.currentDeliveryId;
  }

  /**
   * Sends `makeMessage(deliveryId)` to `destination` and keeps it unconfirmed until
   * `confirmDelivery(deliveryId)`. While recovering, nothing is sent: the delivery goes out once
   * recovery completed (unless a replayed confirmation removed it first). Returns the delivery id.
   */
  deliver(destination: Destination, makeMessage: (deliveryId: number) => unknown, options?: DeliverOptions): number {
    validateDestination(destination);
    // Replay re-creates deliveries that were accepted before: refusing them now (a transport that is
    // no longer configured, a lowered limit) would make recovery fail forever. Such a delivery stays
    // unconfirmed and its sends fail visibly (lastError) until the configuration allows it again.
    const live = !this.isRecovering;
    if (live && typeof destination === 'object' && !isActorRef(destination)) this.#transportsOrThrow().validate(destination);
    const trace = options?.trace === undefined ? undefined : storedTraceCarrier(options.trace);
    const record = this.#state.add(destination, makeMessage, this.lastSequenceNr, live, trace);
    if (live) {
      this.#state.markSent(record, performance.now());
      this.#send(record);
      this.#ensureTimer();
    }
    return record.deliveryId;
  }

  /** Forgets the delivery; true if it was unconfirmed. Call it from an event handler. */
  confirmDelivery(deliveryId: number): boolean {
    const removed = this.#state.take(deliveryId);
    if (removed === undefined) return false;
    if (this.#state.size === 0) this.#stopTimer();
    // A confirmation that arrived (not a dead letter or a cancellation, not a replay) closes the trace.
    if (removed.confirmationSeenAt !== undefined && removed.trace !== undefined && !this.isRecovering) {
      deliveryTracing.confirmed(removed.trace, removed.confirmationSeenAt, {
        'steadfast.delivery_id': deliveryId,
        'steadfast.attempt': removed.attempt,
        ...(removed.senderId !== undefined ? { 'steadfast.sender_id': removed.senderId } : {}),
      });
    }
    return true;
  }

  isUnconfirmed(deliveryId: number): boolean {
    return this.#state.has(deliveryId);
  }

  /** Sends so far, first sends and redeliveries together (not persisted: counts this incarnation). */
  get sendCount(): number {
    return this.#state.sendCount;
  }

  /** Sends after the first one of a delivery (this incarnation). */
  get redeliveryCount(): number {
    return this.#state.redeliveryCount;
  }

  /** Sends a transport reported as failed (this incarnation): an error, a refusal, no answer in time. */
  get failedSendCount(): number {
    return this.#sendFailures;
  }

  /** Confirmations ignored because they did not prove receipt (this incarnation). */
  get rejectedConfirmationCount(): number {
    return this.#rejectedConfirmations;
  }

  /**
   * This actor on the wire (`${persistenceId}@${storeId}`): what receivers see as the sender of its
   * new deliveries. Known once recovery has completed.
   */
  get senderId(): string | undefined {
    return this.#state.identity?.currentSenderId;
  }

  /** Unconfirmed deliveries, oldest first, with attempts and times (for operators and dashboards). */
  unconfirmedDeliveries(): DeliveryInfo[] {
    return this.#state.infos();
  }

  unconfirmedDelivery(deliveryId: number): DeliveryInfo | undefined {
    return this.#state.info(deliveryId);
  }

  /**
   * Plain-data state to put into a snapshot; restoring it keeps ids and the unconfirmed set exact.
   * Reading it has no effect: only a saved snapshot that holds it lets events be deleted (see saveSnapshot).
   */
  getDeliverySnapshot(): AtLeastOnceDeliverySnapshot {
    return this.#state.snapshot();
  }

  /** Restores the state of `getDeliverySnapshot`, typically when handling a SnapshotOffer. */
  setDeliverySnapshot(snapshot: AtLeastOnceDeliverySnapshot): void {
    this.#state.restore(snapshot);
    if (this.isRecovering) this.#state.coveredByRecoveredSnapshot(this.lastSequenceNr);
    else if (this.#state.size > 0) {
      this.#redeliverOverdue();
      this.#ensureTimer();
    }
  }

  /**
   * Besides storing the snapshot: when `snapshot` holds the current delivery state (it is the result
   * of getDeliverySnapshot(), or has it as a direct field), its SaveSnapshotSuccess lets
   * deleteMessages remove the events it covers.
   */
  override saveSnapshot(snapshot: unknown): void {
    this.#state.snapshotSaving(snapshot, this.lastSequenceNr);
    super.saveSnapshot(snapshot);
  }

  // --- runtime integration ------------------------------------------------------------------------

  override afterConstruct(): void {
    super.afterConstruct();
    this.#transports = DeliveryTransports.get(this.context.system);
    this.#transports.registerSender(this.persistenceId, this.self);
  }

  protected override recoveryPrerequisite(): Promise<void> | undefined {
    const identities = SenderIdentities.get(this.context.system);
    const storeId = this.#state.settings.storeId;
    const cached = identities.cached(this.persistenceId, storeId);
    if (cached) {
      this.#useIdentity(cached);
      return undefined;
    }
    return identities.resolve(this.persistenceId, storeId).then((identity) => this.#useIdentity(identity));
  }

  // Replies name the wire sender id: registered under it too, they are routed without parsing it.
  #useIdentity(identity: SenderIdentity): void {
    this.#state.identity = identity;
    this.#transports?.registerSender(identity.currentSenderId, this.self);
  }

  override aroundReceive(message: unknown): void | Promise<void> {
    if (message === RedeliveryTick.instance) {
      this.#redeliverOverdue();
      return;
    }
    if (message instanceof ReceiverConfirmation) {
      // While recovering the delivery may not be rebuilt yet: held back like any command, checked after.
      if (this.isRecovering) return super.aroundReceive(message);
      if (!this.#isProvenReceipt(message)) return;
      this.#state.confirmationArrived(message.deliveryId);
      return super.aroundReceive(message);
    }
    if (message instanceof DeliveryConfirmed) this.#state.confirmationArrived(message.deliveryId);
    if (message instanceof SaveSnapshotSuccess || message instanceof SaveSnapshotFailure) {
      this.#state.snapshotSaved(message.metadata.sequenceNr, message instanceof SaveSnapshotSuccess);
    }
    return super.aroundReceive(message);
  }

  override aroundPostStop(): void | Promise<void> {
    this.#transports?.unregisterSender(this.persistenceId, this.self);
    const senderId = this.#state.identity?.currentSenderId;
    if (senderId !== undefined) this.#transports?.unregisterSender(senderId, this.self);
    return super.aroundPostStop();
  }

  protected override afterRecovery(): void {
    super.afterRecovery();
    this.#redeliverOverdue();
  }

  protected override validateDeleteMessages(toSequenceNr: number): void {
    super.validateDeleteMessages(toSequenceNr);
    this.#state.assertMayDeleteTo(toSequenceNr);
  }

  // --- sending and redelivery ---------------------------------------------------------------------

  #transportsOrThrow(): DeliveryTransports {
    this.#transports ??= DeliveryTransports.get(this.context.system);
    return this.#transports;
  }

  readonly #send = (record: DeliveryRecord): void => {
    const destination = record.destination;
    if (typeof destination === 'string') {
      this.context.system.actorSelection(destination).tell(heldValue(record.held), this.self);
    } else if (isActorRef(destination)) {
      destination.tell(heldValue(record.held), this.self);
    } else {
      this.#sendOverTransport(record, destination);
    }
  };

  #isProvenReceipt(confirmation: ReceiverConfirmation): boolean {
    const verdict = this.#state.checkReceipt(confirmation.deliveryId, confirmation.senderId, confirmation.token);
    // `unknown`: already confirmed (a duplicate reply), or never ours: nothing to confirm either way.
    if (verdict !== 'forged') return verdict === 'proven';
    this.#rejectedConfirmations++;
    this.#transportsOrThrow().noteRejectedConfirmation();
    const now = performance.now();
    if (now - this.#rejectedConfirmationsLoggedAt >= REJECTED_CONFIRMATION_LOG_INTERVAL_MS) {
      this.#rejectedConfirmationsLoggedAt = now;
      this.log.warn(
        { deliveryId: confirmation.deliveryId, senderId: confirmation.senderId, rejected: this.#rejectedConfirmations, tokenPresent: confirmation.token !== undefined },
        'ignoring a confirmation that does not prove receipt (wrong sender or token): forged, or from a receiver that does not echo tokens; the delivery stays unconfirmed',
      );
    }
    return false;
  }

  #sendOverTransport(record: DeliveryRecord, destination: TransportDestination): void {
    if (!this.#state.resolveKey(record)) {
      record.lastError = 'the sender identity is not known yet';
      return;
    }
    const span = deliveryTracing.startAttempt(record.trace, () =>
      attemptAttributes({ senderId: record.senderId!, deliveryId: record.deliveryId, attempt: record.attempt, destination }),
    );
    const delivery = this.#state.outbound(record, span?.carrier)!;
    const transports = this.#transportsOrThrow();
    record.sendsPending++;
    (span ? span.run(() => transports.send(destination, delivery)) : transports.send(destination, delivery)).then(
      () => {
        record.sendsPending--;
        record.lastError = undefined;
        span?.succeeded();
      },
      (error: unknown) => {
        record.sendsPending--;
        span?.failed(error);
        record.lastError = error instanceof Error ? error.message : String(error);
        this.onSendFailed(record.deliveryId, error);
        // One line per failure would flood the log while a broker is down; redelivery retries anyway.
        if (this.#sendFailures++ % 1000 === 0) {
          this.log.warn(
            { err: error, deliveryId: record.deliveryId, destination: describeDestination(record.plainDestination), failures: this.#sendFailures },
            'sending a delivery failed; it stays unconfirmed and is sent again',
          );
        }
      },
    );
  }

  #redeliverOverdue(): void {
    if (this.#state.size === 0) {
      this.#stopTimer();
      return;
    }
    const { warnings, exhausted, redelivered, waiting } = this.#state.redeliverOverdue(performance.now(), this.#send);
    if (redelivered.length > 0) this.onRedelivered(redelivered);
    // Notices to itself, outside the public Command type (the handler receives them all the same).
    const self: ActorRef = this.self;
    if (warnings.length > 0) self.tell(new UnconfirmedWarning(warnings));
    if (exhausted.length > 0) self.tell(new DeliveryAttemptsExhausted(exhausted));
    if (waiting > 0) this.#ensureTimer();
    else this.#stopTimer();
  }

  /**
   * Called after a redelivery pass with the deliveries it sent again and their attempt numbers.
   * Attempts are not persisted by default (as in Akka: after a restart they count from 0 again); an
   * actor whose `deadLetterAfterAttempts` must hold across restarts persists them here (after the sends:
   * a crash in between costs at most one extra attempt) and replays them with `restoreDeliveryAttempt`.
   */
  protected onRedelivered(_redelivered: readonly (readonly [deliveryId: number, attempt: number])[]): void {}

  /**
   * A transport reported an attempt of `deliveryId` as failed (the delivery stays unconfirmed and is
   * sent again). It runs when the transport settles, between messages of the mailbox: for metrics and
   * logs, not for changing the actor's state. Actor destinations have no failures to report.
   */
  protected onSendFailed(_deliveryId: number, _error: unknown): void {}

  /** During recovery: `deliveryId` had already been sent `attempt` times (see `onRedelivered`). */
  protected restoreDeliveryAttempt(deliveryId: number, attempt: number): void {
    this.#state.restoreAttempt(deliveryId, attempt);
  }

  // The timer runs only while something is unconfirmed: an idle actor costs no ticks.
  #ensureTimer(): void {
    if (this.#timerRunning) return;
    this.#timerRunning = true;
    const tick = Math.max(1, Math.floor(this.#state.settings.redeliverInterval / 2));
    this.context.timers.startPeriodicTimer(REDELIVERY_TIMER, RedeliveryTick.instance, tick);
  }

  #stopTimer(): void {
    if (!this.#timerRunning) return;
    this.#timerRunning = false;
    this.context.timers.cancel(REDELIVERY_TIMER);
  }
}
