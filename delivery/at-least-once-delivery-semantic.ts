/**
 * The delivery state of an at-least-once sender, apart from any actor (Akka.NET's
 * AtLeastOnceDeliverySemantic): the unconfirmed deliveries and the id counter, what is due for
 * redelivery, the delivery snapshot, which saved snapshots cover the counter (so events may be
 * deleted), and each delivery's key and proof-of-receipt token. Both actor bases
 * (`AtLeastOnceDeliveryActor` and its receive-style form) hold one; sending, timers and logging stay
 * with the actor.
 */
import { InvalidOptionError } from '../src/actor/errors.js';
import type { ResolvedDeliverySettings } from './delivery-settings.js';
import { describeRecord, newRecord, toInfo, type DeliveryInfo, type DeliveryRecord } from './delivery-record.js';
import { validateDestination, type Destination } from './destination.js';
import { DeliveryIdsExhaustedError, DeliveryStateDeletionError, MaxUnconfirmedMessagesExceededError } from './errors.js';
import type { AtLeastOnceDeliverySnapshot, DeliveryAttemptsExhausted, UnconfirmedDelivery } from './messages.js';
import { SerializedMessage } from './held-message.js';
import { SenderIdentity } from './sender-identity.js';
import type { JsonValue, OutboundDelivery } from './transport.js';
import { storedTraceCarrier, type TraceCarrier } from './tracing/trace-context.js';

/** How long a give-up after `deadLetterAfterAttempts` waits for the last attempt's outcome (ms). */
const OUTCOME_GRACE_MS = 60_000;

/** What a redelivery pass found besides the sends: deliveries to warn about, and those given up on. */
export interface RedeliveryPass {
  readonly warnings: UnconfirmedDelivery[];
  readonly exhausted: DeliveryAttemptsExhausted['deliveries'][number][];
  /** [deliveryId, attempt] of every delivery this pass sent again (attempt 2 and later). */
  readonly redelivered: readonly (readonly [deliveryId: number, attempt: number])[];
  /** Deliveries still waiting for a confirmation or a later attempt (the timer must keep running). */
  readonly waiting: number;
}

export class AtLeastOnceDeliverySemantic {
  readonly #deliveries = new Map<number, DeliveryRecord>();
  #currentDeliveryId = 0;
  #coveredBySnapshotUpTo = 0;
  /** Sequence numbers of snapshot saves under way whose state holds the delivery state of that moment. */
  readonly #savesHoldingDeliveryState = new Set<number>();
  #identity: SenderIdentity | undefined;
  #sendCount = 0;
  #redeliveryCount = 0;

  constructor(
    private readonly persistenceId: () => string,
    readonly settings: ResolvedDeliverySettings,
  ) {}

  get size(): number {
    return this.#deliveries.size;
  }

  get currentDeliveryId(): number {
    return this.#currentDeliveryId;
  }

  get sendCount(): number {
    return this.#sendCount;
  }

  get redeliveryCount(): number {
    return this.#redeliveryCount;
  }

  get identity(): SenderIdentity | undefined {
    return this.#identity;
  }

  set identity(identity: SenderIdentity) {
    this.#identity = identity;
  }

  /**
   * A new delivery with the next id. Live (not replayed) deliveries are refused past
   * `maxUnconfirmedMessages`; replayed ones never are, since refusing them would make recovery fail.
   */
  add(
    destination: Destination,
    makeMessage: (deliveryId: number) => unknown,
    createdAtSequenceNr: number,
    live: boolean,
    trace: TraceCarrier | undefined = undefined,
  ): DeliveryRecord {
    if (live && this.#deliveries.size >= this.settings.maxUnconfirmedMessages) {
      throw new MaxUnconfirmedMessagesExceededError(this.persistenceId(), this.settings.maxUnconfirmedMessages);
    }
    if (this.#currentDeliveryId >= Number.MAX_SAFE_INTEGER) throw new DeliveryIdsExhaustedError(this.persistenceId());
    const deliveryId = ++this.#currentDeliveryId;
    const record = newRecord(deliveryId, destination, makeMessage(deliveryId), createdAtSequenceNr, live, undefined, trace);
    this.#deliveries.set(deliveryId, record);
    return record;
  }

  confirm(deliveryId: number): boolean {
    return this.#deliveries.delete(deliveryId);
  }

  /** Forgets the delivery and returns it (undefined when it was not unconfirmed). */
  take(deliveryId: number): DeliveryRecord | undefined {
    const record = this.#deliveries.get(deliveryId);
    if (record !== undefined) this.#deliveries.delete(deliveryId);
    return record;
  }

  /** A confirmation for `deliveryId` arrived (not yet persisted): when it is traced, the time starts its span. */
  confirmationArrived(deliveryId: number): void {
    const record = this.#deliveries.get(deliveryId);
    if (record?.trace !== undefined) record.confirmationSeenAt ??= Date.now();
  }

  has(deliveryId: number): boolean {
    return this.#deliveries.has(deliveryId);
  }

  infos(): DeliveryInfo[] {
    return [...this.#deliveries.values()].map(toInfo);
  }

  info(deliveryId: number): DeliveryInfo | undefined {
    const record = this.#deliveries.get(deliveryId);
    return record ? toInfo(record) : undefined;
  }

  // --- sending ------------------------------------------------------------------------------------

  /** Counts an attempt of `record` now and schedules the next one. */
  markSent(record: DeliveryRecord, now: number): void {
    record.attempt++;
    this.#sendCount++;
    if (record.attempt > 1) this.#redeliveryCount++;
    const wallClock = Date.now();
    record.firstAttemptAt ??= wallClock;
    record.lastAttemptAt = wallClock;
    record.dueAt = now + this.#nextDelay(record.attempt);
  }

  /**
   * Hands every overdue delivery to `send` (oldest first, at most `redeliveryBurstLimit`), after
   * marking it sent; deliveries past `deadLetterAfterAttempts` are set aside as exhausted instead.
   */
  redeliverOverdue(now: number, send: (record: DeliveryRecord) => void): RedeliveryPass {
    const { redeliveryBurstLimit, warnAfterNumberOfUnconfirmedAttempts, deadLetterAfterAttempts } = this.settings;
    const warnings: UnconfirmedDelivery[] = [];
    const exhausted: DeliveryAttemptsExhausted['deliveries'][number][] = [];
    const redelivered: [deliveryId: number, attempt: number][] = [];
    let sent = 0;
    let waiting = 0;
    for (const record of this.#deliveries.values()) {
      if (record.exhausted) continue;
      waiting++;
      if (record.dueAt > now || sent >= redeliveryBurstLimit) continue;
      if (deadLetterAfterAttempts !== undefined && record.attempt >= deadLetterAfterAttempts) {
        // The last attempt's outcome is its reason (a 500, a refusal): wait for it, a while at most
        // (transports time out themselves; this bounds one that never settles).
        if (record.sendsPending > 0 && now - record.dueAt < OUTCOME_GRACE_MS) continue;
        record.exhausted = true;
        exhausted.push({ ...describeRecord(record), ...(record.lastError !== undefined ? { lastError: record.lastError } : {}) });
        continue;
      }
      this.markSent(record, now);
      send(record);
      sent++;
      if (record.attempt > 1) redelivered.push([record.deliveryId, record.attempt]);
      if (record.attempt === warnAfterNumberOfUnconfirmedAttempts) warnings.push(describeRecord(record));
    }
    return { warnings, exhausted, redelivered, waiting: waiting - exhausted.length };
  }

  #nextDelay(attempt: number): number {
    const { redeliverInterval, redeliveryBackoff } = this.settings;
    if (!redeliveryBackoff) return redeliverInterval;
    const base = Math.min(redeliveryBackoff.maxInterval, redeliverInterval * 2 ** Math.min(attempt - 1, 40));
    return base * (1 + Math.random() * redeliveryBackoff.randomFactor);
  }

  /**
   * The attempt as a transport sees it, carrying `trace` (the attempt's own); undefined while the
   * sender identity is not known (never after recovery).
   */
  outbound(record: DeliveryRecord, trace: TraceCarrier | undefined): OutboundDelivery | undefined {
    if (!this.resolveKey(record)) return undefined;
    // Map order is delivery-id order (ids are appended ascending; snapshots are restored sorted).
    const oldestUnconfirmedId = this.#deliveries.keys().next().value ?? record.deliveryId;
    const { held } = record;
    // Built whole, in one shape per kind: an object spread here costs a copy on every send.
    if (!(held instanceof SerializedMessage)) {
      return {
        senderId: record.senderId!,
        deliveryId: record.deliveryId,
        confirmationToken: record.token,
        attempt: record.attempt,
        oldestUnconfirmedId,
        trace,
        message: held as JsonValue,
      };
    }
    return new SerializedAttempt(record.senderId!, record.deliveryId, record.token, record.attempt, oldestUnconfirmedId, trace, held);
  }

  /** Fixes the delivery's key (once) and its token; false while the sender identity is not known. */
  resolveKey(record: DeliveryRecord): boolean {
    if (record.keyResolved) return true;
    const identity = this.#identity;
    if (identity === undefined) return false;
    record.senderId ??= record.live ? identity.currentSenderId : identity.senderIdAt(record.createdAtSequenceNr);
    const senderId = record.senderId;
    record.token = identity.isLegacy(senderId) ? undefined : identity.tokenFor(senderId, record.deliveryId);
    record.keyResolved = true;
    return true;
  }

  /**
   * Whether a confirmation that arrived as a message proves receipt: `proven`, `forged` (wrong sender
   * or token) or `unknown` (not unconfirmed here: a duplicate reply, or never ours).
   */
  checkReceipt(deliveryId: number, senderId: string, token: string | undefined): 'proven' | 'forged' | 'unknown' {
    const record = this.#deliveries.get(deliveryId);
    if (record === undefined || !this.resolveKey(record)) return 'unknown';
    const proven = record.senderId === senderId && (record.token === undefined || SenderIdentity.tokensMatch(record.token, token));
    return proven ? 'proven' : 'forged';
  }

  // --- snapshots and deletion ---------------------------------------------------------------------

  snapshot(): AtLeastOnceDeliverySnapshot {
    const unconfirmedDeliveries: Mutable<AtLeastOnceDeliverySnapshot['unconfirmedDeliveries'][number]>[] = new Array(this.#deliveries.size);
    let i = 0;
    // One object per delivery, its fields added in one order (one hidden class): a snapshot of a large
    // backlog is walked often, and spreads made three objects of each delivery.
    for (const record of this.#deliveries.values()) {
      const { held } = record;
      // Parsed when read (saving the snapshot reads it), so a caller that saves the payload elsewhere,
      // as the outbox does for most, never parses it.
      const entry: Mutable<AtLeastOnceDeliverySnapshot['unconfirmedDeliveries'][number]> =
        held instanceof SerializedMessage
          ? {
              deliveryId: record.deliveryId,
              destination: record.plainDestination,
              get message() {
                return held.value() as JsonValue;
              },
            }
          : { deliveryId: record.deliveryId, destination: record.plainDestination, message: held as JsonValue };
      // The key goes with the delivery: restored on another day, on the bare-library defaults even
      // into a journal that forgot the identity, it is sent under the key it was first sent with.
      if (record.senderId !== undefined) entry.senderId = record.senderId;
      else entry.createdAtSequenceNr = record.createdAtSequenceNr;
      entry.attempt = record.attempt;
      if (record.trace) entry.trace = record.trace;
      unconfirmedDeliveries[i++] = entry;
    }
    return { currentDeliveryId: this.#currentDeliveryId, unconfirmedDeliveries };
  }

  restore(snapshot: AtLeastOnceDeliverySnapshot): void {
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
      const createdAt = Number.isSafeInteger(entry.createdAtSequenceNr) ? entry.createdAtSequenceNr! : undefined;
      const senderId = typeof entry.senderId === 'string' ? entry.senderId : createdAt !== undefined ? undefined : this.persistenceId();
      const record = newRecord(entry.deliveryId, entry.destination, entry.message, createdAt ?? 0, false, senderId, storedTraceCarrier(entry.trace));
      if (Number.isSafeInteger(entry.attempt) && entry.attempt! > 0) record.attempt = entry.attempt!;
      this.#deliveries.set(entry.deliveryId, record);
    }
  }

  /**
   * Sets the sends a delivery already had (an actor that persists its attempts replays them here), so
   * that counting goes on after a restart instead of starting over; never lowers the count.
   */
  restoreAttempt(deliveryId: number, attempt: number): void {
    const record = this.#deliveries.get(deliveryId);
    if (record !== undefined && attempt > record.attempt) record.attempt = attempt;
  }

  /** A snapshot offered during recovery at `sequenceNr` restored the delivery state: it covers the events up to there. */
  coveredByRecoveredSnapshot(sequenceNr: number): void {
    this.#coveredBySnapshotUpTo = Math.max(this.#coveredBySnapshotUpTo, sequenceNr);
  }

  /**
   * A snapshot is being saved under `sequenceNr`. Keyed by that number: a later save under the same
   * number replaces the stored snapshot, so only the last save's content counts.
   */
  snapshotSaving(snapshot: unknown, sequenceNr: number): void {
    if (this.#holdsCurrentState(snapshot)) this.#savesHoldingDeliveryState.add(sequenceNr);
    else this.#savesHoldingDeliveryState.delete(sequenceNr);
  }

  snapshotSaved(sequenceNr: number, succeeded: boolean): void {
    if (this.#savesHoldingDeliveryState.delete(sequenceNr) && succeeded) this.coveredByRecoveredSnapshot(sequenceNr);
  }

  /** Deleting events that carry delivery state loses the id counter unless a stored snapshot holds it (Akka.NET issue 2372). */
  assertMayDeleteTo(toSequenceNr: number): void {
    if (this.#currentDeliveryId > 0 && toSequenceNr > this.#coveredBySnapshotUpTo) {
      throw new DeliveryStateDeletionError(this.persistenceId(), toSequenceNr, this.#coveredBySnapshotUpTo);
    }
  }

  // A copy made at an earlier sequence number would restore a stale counter and reuse ids, so only
  // the state as it is when the snapshot is stored counts: same counter, same unconfirmed ids.
  #holdsCurrentState(snapshot: unknown): boolean {
    if (this.#isCurrentState(snapshot)) return true;
    if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) return false;
    return Object.values(snapshot).some((field) => this.#isCurrentState(field));
  }

  #isCurrentState(value: unknown): boolean {
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
}

/**
 * An attempt whose message is held as JSON bytes: the transport sends `messageJson`; `message` is
 * parsed only for one that reads it (a manifest function), once. Its fields are own properties, so
 * a transport that copies the attempt keeps them (the getter, on the prototype, it would not).
 */
class SerializedAttempt implements OutboundDelivery {
  readonly messageJson: Buffer;
  /** Not a #private field: the getter must also work through an object derived from this one. */
  private parsed: JsonValue | undefined = undefined;

  constructor(
    readonly senderId: string,
    readonly deliveryId: number,
    readonly confirmationToken: string | undefined,
    readonly attempt: number,
    readonly oldestUnconfirmedId: number,
    readonly trace: TraceCarrier | undefined,
    readonly held: SerializedMessage,
  ) {
    this.messageJson = held.json;
  }

  get message(): JsonValue {
    this.parsed ??= this.held.value();
    return this.parsed;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
