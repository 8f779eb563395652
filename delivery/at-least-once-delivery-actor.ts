import { isActorRef, type ActorRef } from '../src/actor/actor-ref.js';
import { InvalidOptionError } from '../src/actor/errors.js';
import type { PersistentActorSettings } from '../src/persistence/persistence-settings.js';
import { PersistentActor, type PersistenceReply } from '../src/persistence/persistent-actor.js';
import { SaveSnapshotFailure, SaveSnapshotSuccess } from '../src/persistence/protocol.js';
import { resolveDeliverySettings, type AtLeastOnceDeliverySettings, type ResolvedDeliverySettings } from './delivery-settings.js';
import { describeDestination, toPlainDestination, validateDestination, type Destination, type PlainDestination } from './destination.js';
import { DeliveryIdsExhaustedError, DeliveryStateDeletionError, MaxUnconfirmedMessagesExceededError } from './errors.js';
import {
  DeliveryAttemptsExhausted,
  DeliveryConfirmed,
  UnconfirmedWarning,
  type AtLeastOnceDeliverySnapshot,
  type DeliveryNotice,
  type UnconfirmedDelivery,
} from './messages.js';
import { SenderIdentities, SenderIdentity } from './sender-identity.js';
import { DeliveryTransports, ReceiverConfirmation } from './transports.js';
import type { JsonValue, TransportDestination } from './transport.js';

/** One unconfirmed delivery as operators see it. Times are wall-clock ms (undefined: not sent yet). */
export interface DeliveryInfo extends UnconfirmedDelivery {
  readonly firstAttemptAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly lastError: string | undefined;
  /** Given up on after `deadLetterAfterAttempts` sends; waiting for the actor to persist that. */
  readonly exhausted: boolean;
}

interface DeliveryRecord {
  readonly deliveryId: number;
  readonly destination: Destination;
  readonly plainDestination: PlainDestination;
  readonly message: unknown;
  attempt: number;
  /** Monotonic time (performance.now) when the next send is due: wall-clock jumps cannot cause storms or stalls. */
  dueAt: number;
  firstAttemptAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: string | undefined;
  exhausted: boolean;
  /** Sequence number of the event whose handler made the delivery (replay keys it as it was keyed then). */
  readonly createdAtSequenceNr: number;
  /** Made by a live handler, not rebuilt by replay: keyed with the current identity. */
  readonly live: boolean;
  /** Wire sender id of the delivery's key; set once, at the first send (or restored from a snapshot). */
  senderId: string | undefined;
  token: string | undefined;
  keyResolved: boolean;
}

/** Not sent yet, and due at once: the first send (or, after recovery, the resend) happens right away. */
function newRecord(
  deliveryId: number,
  destination: Destination,
  message: unknown,
  createdAtSequenceNr: number,
  live: boolean,
  senderId: string | undefined,
): DeliveryRecord {
  return {
    deliveryId,
    destination,
    plainDestination: toPlainDestination(destination),
    message,
    attempt: 0,
    dueAt: Number.NEGATIVE_INFINITY,
    firstAttemptAt: undefined,
    lastAttemptAt: undefined,
    lastError: undefined,
    exhausted: false,
    createdAtSequenceNr,
    live,
    senderId,
    token: undefined,
    keyResolved: false,
  };
}

function toInfo(record: DeliveryRecord): DeliveryInfo {
  return {
    deliveryId: record.deliveryId,
    destination: record.plainDestination,
    message: record.message,
    attempt: record.attempt,
    firstAttemptAt: record.firstAttemptAt,
    lastAttemptAt: record.lastAttemptAt,
    lastError: record.lastError,
    exhausted: record.exhausted,
  };
}

class RedeliveryTick {
  static readonly instance = new RedeliveryTick();
}

const REDELIVERY_TIMER = Symbol('steadfast.redelivery');
/** At most one warning about ignored confirmations per this many ms (they may come in floods). */
const REJECTED_CONFIRMATION_LOG_INTERVAL_MS = 10_000;

export type AtLeastOnceDeliveryOptions = AtLeastOnceDeliverySettings & PersistentActorSettings;

/**
 * A persistent actor that sends with at-least-once semantics (Akka's AtLeastOnceDeliveryActor).
 * Call `deliver` from an event handler (so replay rebuilds the unconfirmed set) and `confirmDelivery`
 * from the handler of the event that records the confirmation. Unconfirmed deliveries are sent again
 * every `redeliverInterval` until confirmed, also after a crash: right after recovery, before any new
 * command is handled.
 */
export abstract class AtLeastOnceDeliveryActor<Command = unknown, Event = unknown> extends PersistentActor<Command, Event> {
  readonly #deliverySettings: ResolvedDeliverySettings;
  readonly #deliveries = new Map<number, DeliveryRecord>();
  #currentDeliveryId = 0;
  #timerRunning = false;
  #coveredBySnapshotUpTo = 0;
  /** Sequence numbers of snapshot saves under way whose state holds the delivery state of that moment. */
  readonly #savesHoldingDeliveryState = new Set<number>();
  #transports: DeliveryTransports | undefined;
  #sendFailuresLogged = 0;
  #sendCount = 0;
  #redeliveryCount = 0;
  #identity: SenderIdentity | undefined;
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
    this.#deliverySettings = resolveDeliverySettings(options, systemDefaults);
  }

  get redeliverInterval(): number {
    return this.#deliverySettings.redeliverInterval;
  }

  get redeliveryBurstLimit(): number {
    return this.#deliverySettings.redeliveryBurstLimit;
  }

  get warnAfterNumberOfUnconfirmedAttempts(): number {
    return this.#deliverySettings.warnAfterNumberOfUnconfirmedAttempts;
  }

  get maxUnconfirmedMessages(): number {
    return this.#deliverySettings.maxUnconfirmedMessages;
  }

  get unconfirmedCount(): number {
    return this.#deliveries.size;
  }

  /** The highest delivery id handed out so far (0 before the first delivery). */
  get currentDeliveryId(): number {
    return this.#currentDeliveryId;
  }

  /**
   * Sends `makeMessage(deliveryId)` to `destination` and keeps it unconfirmed until
   * `confirmDelivery(deliveryId)`. While recovering, nothing is sent: the delivery goes out once
   * recovery completed (unless a replayed confirmation removed it first). Returns the delivery id.
   */
  deliver(destination: Destination, makeMessage: (deliveryId: number) => unknown): number {
    validateDestination(destination);
    // Replay re-creates deliveries that were accepted before: refusing them now (a transport that is
    // no longer configured, a lowered limit) would make recovery fail forever. Such a delivery stays
    // unconfirmed and its sends fail visibly (lastError) until the configuration allows it again.
    const replaying = this.isRecovering;
    if (!replaying && typeof destination === 'object' && !isActorRef(destination)) this.#transportsOrThrow().validate(destination);
    if (!replaying && this.#deliveries.size >= this.#deliverySettings.maxUnconfirmedMessages) {
      throw new MaxUnconfirmedMessagesExceededError(this.persistenceId, this.#deliverySettings.maxUnconfirmedMessages);
    }
    if (this.#currentDeliveryId >= Number.MAX_SAFE_INTEGER) throw new DeliveryIdsExhaustedError(this.persistenceId);
    const deliveryId = ++this.#currentDeliveryId;
    const record = newRecord(deliveryId, destination, makeMessage(deliveryId), this.lastSequenceNr, !replaying, undefined);
    this.#deliveries.set(deliveryId, record);
    if (!this.isRecovering) {
      this.#send(record, performance.now());
      this.#ensureTimer();
    }
    return deliveryId;
  }

  /** Forgets the delivery; true if it was unconfirmed. Call it from an event handler. */
  confirmDelivery(deliveryId: number): boolean {
    const removed = this.#deliveries.delete(deliveryId);
    if (removed && this.#deliveries.size === 0) this.#stopTimer();
    return removed;
  }

  isUnconfirmed(deliveryId: number): boolean {
    return this.#deliveries.has(deliveryId);
  }

  /** Sends so far, first sends and redeliveries together (not persisted: counts this incarnation). */
  get sendCount(): number {
    return this.#sendCount;
  }

  /** Sends after the first one of a delivery (this incarnation). */
  get redeliveryCount(): number {
    return this.#redeliveryCount;
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
    return this.#identity?.currentSenderId;
  }

  /** Unconfirmed deliveries, oldest first, with attempts and times (for operators and dashboards). */
  unconfirmedDeliveries(): DeliveryInfo[] {
    return [...this.#deliveries.values()].map(toInfo);
  }

  unconfirmedDelivery(deliveryId: number): DeliveryInfo | undefined {
    const record = this.#deliveries.get(deliveryId);
    return record ? toInfo(record) : undefined;
  }

  /**
   * Plain-data state to put into a snapshot; restoring it keeps ids and the unconfirmed set exact.
   * Reading it has no effect: only a saved snapshot that holds it lets events be deleted (see saveSnapshot).
   */
  getDeliverySnapshot(): AtLeastOnceDeliverySnapshot {
    return {
      currentDeliveryId: this.#currentDeliveryId,
      unconfirmedDeliveries: [...this.#deliveries.values()].map((record) =>
        // The key goes with the delivery: restored on another day, on the bare-library defaults even
        // into a journal that forgot the identity, it is sent under the key it was first sent with.
        record.senderId !== undefined
          ? { deliveryId: record.deliveryId, destination: record.plainDestination, message: record.message as JsonValue, senderId: record.senderId }
          : { deliveryId: record.deliveryId, destination: record.plainDestination, message: record.message as JsonValue, createdAtSequenceNr: record.createdAtSequenceNr },
      ),
    };
  }

  /** Restores the state of `getDeliverySnapshot`, typically when handling a SnapshotOffer. */
  setDeliverySnapshot(snapshot: AtLeastOnceDeliverySnapshot): void {
    if (
      snapshot === null ||
      typeof snapshot !== 'object' ||
      !Number.isSafeInteger(snapshot.currentDeliveryId) ||
      snapshot.currentDeliveryId < 0 ||
      !Array.isArray(snapshot.unconfirmedDeliveries)
    ) {
      throw new InvalidOptionError('setDeliverySnapshot needs { currentDeliveryId, unconfirmedDeliveries } as returned by getDeliverySnapshot()');
    }
    this.#deliveries.clear();
    this.#currentDeliveryId = snapshot.currentDeliveryId;
    const sorted = [...snapshot.unconfirmedDeliveries].sort((a, b) => a.deliveryId - b.deliveryId);
    for (const entry of sorted) {
      validateDestination(entry.destination);
      // A snapshot from before sender identities names neither: those deliveries keep their old key.
      const senderId = typeof entry.senderId === 'string' ? entry.senderId : Number.isSafeInteger(entry.createdAtSequenceNr) ? undefined : this.persistenceId;
      const createdAt = Number.isSafeInteger(entry.createdAtSequenceNr) ? entry.createdAtSequenceNr! : 0;
      this.#deliveries.set(entry.deliveryId, newRecord(entry.deliveryId, entry.destination, entry.message, createdAt, false, senderId));
    }
    if (this.isRecovering) this.#coveredBySnapshotUpTo = Math.max(this.#coveredBySnapshotUpTo, this.lastSequenceNr);
    else if (this.#deliveries.size > 0) {
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
    // Keyed by the sequence number the snapshot is stored under: a later save under the same number
    // replaces the stored snapshot, so only the last save's content counts.
    if (this.#holdsCurrentDeliveryState(snapshot)) this.#savesHoldingDeliveryState.add(this.lastSequenceNr);
    else this.#savesHoldingDeliveryState.delete(this.lastSequenceNr);
    super.saveSnapshot(snapshot);
  }

  // A copy made at an earlier sequence number would restore a stale counter and reuse ids, so only
  // the state as it is when the snapshot is stored counts: same counter, same unconfirmed ids.
  #holdsCurrentDeliveryState(snapshot: unknown): boolean {
    if (this.#isCurrentDeliveryState(snapshot)) return true;
    if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) return false;
    return Object.values(snapshot).some((field) => this.#isCurrentDeliveryState(field));
  }

  #isCurrentDeliveryState(value: unknown): boolean {
    if (value === null || typeof value !== 'object') return false;
    const { currentDeliveryId, unconfirmedDeliveries } = value as { currentDeliveryId?: unknown; unconfirmedDeliveries?: unknown };
    if (currentDeliveryId !== this.#currentDeliveryId || !Array.isArray(unconfirmedDeliveries)) return false;
    return (
      unconfirmedDeliveries.length === this.#deliveries.size &&
      unconfirmedDeliveries.every((entry: unknown) => {
        const deliveryId = entry !== null && typeof entry === 'object' ? (entry as { deliveryId?: unknown }).deliveryId : undefined;
        return typeof deliveryId === 'number' && this.#deliveries.has(deliveryId);
      })
    );
  }

  // --- runtime integration ------------------------------------------------------------------------

  override afterConstruct(): void {
    super.afterConstruct();
    this.#transports = DeliveryTransports.get(this.context.system);
    this.#transports.registerSender(this.persistenceId, this.self);
  }

  protected override recoveryPrerequisite(): Promise<void> | undefined {
    const identities = SenderIdentities.get(this.context.system);
    const storeId = this.#deliverySettings.storeId;
    this.#identity = identities.cached(this.persistenceId, storeId);
    if (this.#identity) return undefined;
    return identities.resolve(this.persistenceId, storeId).then((identity) => {
      this.#identity = identity;
    });
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
      return super.aroundReceive(new DeliveryConfirmed(message.deliveryId, message.senderId));
    }
    if (message instanceof SaveSnapshotSuccess || message instanceof SaveSnapshotFailure) {
      const sequenceNr = message.metadata.sequenceNr;
      if (this.#savesHoldingDeliveryState.delete(sequenceNr) && message instanceof SaveSnapshotSuccess) {
        this.#coveredBySnapshotUpTo = Math.max(this.#coveredBySnapshotUpTo, sequenceNr);
      }
    }
    return super.aroundReceive(message);
  }

  override aroundPostStop(): void | Promise<void> {
    this.#transports?.unregisterSender(this.persistenceId, this.self);
    return super.aroundPostStop();
  }

  protected override afterRecovery(): void {
    super.afterRecovery();
    this.#redeliverOverdue();
  }

  protected override validateDeleteMessages(toSequenceNr: number): void {
    super.validateDeleteMessages(toSequenceNr);
    if (this.#currentDeliveryId > 0 && toSequenceNr > this.#coveredBySnapshotUpTo) {
      throw new DeliveryStateDeletionError(this.persistenceId, toSequenceNr, this.#coveredBySnapshotUpTo);
    }
  }

  // --- sending and redelivery ---------------------------------------------------------------------

  #transportsOrThrow(): DeliveryTransports {
    this.#transports ??= DeliveryTransports.get(this.context.system);
    return this.#transports;
  }

  #nextDelay(attempt: number): number {
    const { redeliverInterval, redeliveryBackoff } = this.#deliverySettings;
    if (!redeliveryBackoff) return redeliverInterval;
    const base = Math.min(redeliveryBackoff.maxInterval, redeliverInterval * 2 ** Math.min(attempt - 1, 40));
    return base * (1 + Math.random() * redeliveryBackoff.randomFactor);
  }

  #send(record: DeliveryRecord, now: number): void {
    record.attempt++;
    this.#sendCount++;
    if (record.attempt > 1) this.#redeliveryCount++;
    const wallClock = Date.now();
    record.firstAttemptAt ??= wallClock;
    record.lastAttemptAt = wallClock;
    record.dueAt = now + this.#nextDelay(record.attempt);
    const destination = record.destination;
    if (typeof destination === 'string') {
      this.context.system.actorSelection(destination).tell(record.message, this.self);
    } else if (isActorRef(destination)) {
      destination.tell(record.message, this.self);
    } else {
      this.#sendOverTransport(record, destination);
    }
  }

  /** Fixes the delivery's key (once) and its token; false while the identity is not known (never after recovery). */
  #resolveKey(record: DeliveryRecord): boolean {
    if (record.keyResolved) return true;
    const identity = this.#identity;
    if (identity === undefined) return false;
    const senderId = (record.senderId ??= record.live ? identity.currentSenderId : identity.senderIdAt(record.createdAtSequenceNr));
    record.token = identity.isLegacy(senderId) ? undefined : identity.tokenFor(senderId, record.deliveryId);
    record.keyResolved = true;
    return true;
  }

  #isProvenReceipt(confirmation: ReceiverConfirmation): boolean {
    const record = this.#deliveries.get(confirmation.deliveryId);
    // Already confirmed (a duplicate reply), or never ours: nothing to confirm either way.
    if (record === undefined || !this.#resolveKey(record)) return false;
    if (record.senderId === confirmation.senderId && (record.token === undefined || SenderIdentity.tokensMatch(record.token, confirmation.token))) return true;
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
    if (!this.#resolveKey(record)) {
      record.lastError = 'the sender identity is not known yet';
      return;
    }
    // Map order is delivery-id order (ids are appended ascending; snapshots are restored sorted).
    const oldestUnconfirmedId = this.#deliveries.keys().next().value ?? record.deliveryId;
    const delivery = {
      senderId: record.senderId!,
      deliveryId: record.deliveryId,
      message: record.message as JsonValue,
      confirmationToken: record.token,
      attempt: record.attempt,
      oldestUnconfirmedId,
    };
    this.#transportsOrThrow()
      .send(destination, delivery)
      .then(
        () => {
          record.lastError = undefined;
        },
        (error: unknown) => {
          record.lastError = error instanceof Error ? error.message : String(error);
          // One line per failure would flood the log while a broker is down; redelivery retries anyway.
          if (this.#sendFailuresLogged++ % 1000 === 0) {
            this.log.warn(
              { err: error, deliveryId: record.deliveryId, destination: describeDestination(record.plainDestination), failures: this.#sendFailuresLogged },
              'sending a delivery failed; it stays unconfirmed and is sent again',
            );
          }
        },
      );
  }

  #redeliverOverdue(): void {
    if (this.#deliveries.size === 0) {
      this.#stopTimer();
      return;
    }
    const now = performance.now();
    const { redeliveryBurstLimit, warnAfterNumberOfUnconfirmedAttempts, deadLetterAfterAttempts } = this.#deliverySettings;
    const warnings: UnconfirmedDelivery[] = [];
    const exhausted: DeliveryAttemptsExhausted['deliveries'][number][] = [];
    let sent = 0;
    let waiting = 0;
    for (const record of this.#deliveries.values()) {
      if (record.exhausted) continue;
      waiting++;
      if (record.dueAt > now || sent >= redeliveryBurstLimit) continue;
      if (deadLetterAfterAttempts !== undefined && record.attempt >= deadLetterAfterAttempts) {
        record.exhausted = true;
        exhausted.push({ ...this.#describe(record), ...(record.lastError !== undefined ? { lastError: record.lastError } : {}) });
        continue;
      }
      this.#send(record, now);
      sent++;
      if (record.attempt === warnAfterNumberOfUnconfirmedAttempts) warnings.push(this.#describe(record));
    }
    // Notices to itself, outside the public Command type (the handler receives them all the same).
    const self: ActorRef = this.self;
    if (warnings.length > 0) self.tell(new UnconfirmedWarning(warnings));
    if (exhausted.length > 0) self.tell(new DeliveryAttemptsExhausted(exhausted));
    if (waiting - exhausted.length > 0) this.#ensureTimer();
    else this.#stopTimer();
  }

  #describe(record: DeliveryRecord): UnconfirmedDelivery {
    return { deliveryId: record.deliveryId, destination: record.plainDestination, message: record.message, attempt: record.attempt };
  }

  // The timer runs only while something is unconfirmed: an idle actor costs no ticks.
  #ensureTimer(): void {
    if (this.#timerRunning) return;
    this.#timerRunning = true;
    const tick = Math.max(1, Math.floor(this.#deliverySettings.redeliverInterval / 2));
    this.context.timers.startPeriodicTimer(REDELIVERY_TIMER, RedeliveryTick.instance, tick);
  }

  #stopTimer(): void {
    if (!this.#timerRunning) return;
    this.#timerRunning = false;
    this.context.timers.cancel(REDELIVERY_TIMER);
  }
}
