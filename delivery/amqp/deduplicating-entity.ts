/**
 * `DeduplicatingEntity`: the base class for persistent entities fed by `amqpEntityConsumer`.
 *
 * User code supplies two pure functions, `applyDelivery` (decide: which events a delivery causes) and
 * `applyEvent` (evolve: the state after one event). The base class keeps the receiver's
 * deduplication state (ReceivedDeliveries) inside the persisted state and writes the record "this
 * delivery was applied" and its events as ONE journal event, so after any crash either both are in
 * the journal or neither is. A redelivered duplicate is answered at once and applied no second time.
 */
import { StatusFailure } from '../../src/actor/messages.js';
import { InvalidOptionError, asError } from '../../src/actor/errors.js';
import type { PersistentActorSettings } from '../../src/persistence/persistence-settings.js';
import { PersistentActor, type PersistenceReply } from '../../src/persistence/persistent-actor.js';
import { RecoveryCompleted, SnapshotOffer } from '../../src/persistence/protocol.js';
import { SnapshotPolicy } from '../../src/persistence/snapshot-policy.js';
import { ReceivedDeliveries, type ReceivedDeliveriesSnapshot } from '../received-deliveries.js';
import { DeliveryApplied, InboundDelivery } from './inbound-delivery.js';

export const DELIVERY_APPLIED_EVENT = 'steadfast.delivery-applied';

/** The journal event of one applied delivery: the dedup record and the effect, stored atomically. */
export interface DeliveryAppliedEvent<Event> {
  readonly type: typeof DELIVERY_APPLIED_EVENT;
  readonly senderId: string;
  readonly deliveryId: number;
  /** Ids of this sender below it were confirmed when it sent: folded into the high-water mark. */
  readonly senderLowWater?: number;
  readonly events: readonly Event[];
}

export interface DeduplicatingEntitySnapshot<State> {
  readonly state: State;
  readonly received: ReceivedDeliveriesSnapshot;
}

export interface DeduplicatingEntityOptions extends PersistentActorSettings {
  /** Save a snapshot (state + dedup record) after this many applied deliveries; 0 = never. Default 1000. */
  readonly snapshotEvery?: number;
  /** Snapshots kept; older ones are deleted once a newer one is saved. Default 2. */
  readonly keepSnapshots?: number;
  /**
   * Also delete the events below the oldest kept snapshot. Default false: the entity's events may feed
   * projections and queries (eventsByTag), which deleted events no longer reach.
   */
  readonly deleteEventsOnSnapshot?: boolean;
}

/** Asks an entity for its current state (tests, read models, health checks); the reply is the state. */
export class GetEntityState {
  static readonly instance = new GetEntityState();
  private constructor() {}
}

export abstract class DeduplicatingEntity<State, Event, Command = never> extends PersistentActor<InboundDelivery | GetEntityState | Command, DeliveryAppliedEvent<Event>> {
  readonly persistenceId: string;
  #state: State;
  #received = new ReceivedDeliveries();
  readonly #snapshots: SnapshotPolicy;

  /**
   * @param persistenceId the entity's event stream, e.g. `account-${entityId}`.
   * @param initialState the state before the first event: plain JSON data (it goes into snapshots).
   */
  constructor(persistenceId: string, initialState: State, options: DeduplicatingEntityOptions = {}) {
    super(options);
    this.persistenceId = persistenceId;
    this.#state = initialState;
    this.#snapshots = new SnapshotPolicy({ every: options.snapshotEvery ?? 1000, keep: options.keepSnapshots ?? 2, deleteEvents: options.deleteEventsOnSnapshot ?? false });
  }

  /** The state after every applied delivery so far. */
  get state(): State {
    return this.#state;
  }

  /** What this entity has applied, per sender (read-only use). */
  get receivedDeliveries(): ReceivedDeliveries {
    return this.#received;
  }

  /**
   * Decide: the events this delivery causes, given the current state ([] is fine: the delivery is
   * still recorded as applied). Throw to refuse it for now: nothing is persisted, the consumer retries
   * with backoff and finally parks the message in the dead-letter queue with the error.
   */
  protected abstract applyDelivery(delivery: InboundDelivery, state: State): readonly Event[];

  /** Evolve: the state after `event`. Runs live and on replay, so it must be pure. */
  protected abstract applyEvent(state: State, event: Event): State;

  /** A delivery that had been applied before arrived again (metrics, tests). It is confirmed, not applied. */
  protected onDuplicate(_delivery: InboundDelivery): void {}

  /** Commands other than deliveries (queries, ...). Default: logged and dropped. */
  protected onOtherCommand(command: Command | PersistenceReply): void {
    this.log.debug({ command: (command as object | null)?.constructor?.name }, 'unhandled command');
  }

  onCommand(command: InboundDelivery | GetEntityState | Command | PersistenceReply): void {
    if (command instanceof InboundDelivery) return this.#deliver(command);
    if (command === GetEntityState.instance) {
      this.sender.tell(this.#state);
      return;
    }
    this.#snapshots.handleReply(command, this, 'entity');
    this.onOtherCommand(command as Command | PersistenceReply);
  }

  onRecover(message: DeliveryAppliedEvent<Event> | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof RecoveryCompleted) return;
    if (message instanceof SnapshotOffer) {
      const snapshot = message.snapshot as DeduplicatingEntitySnapshot<State>;
      this.#state = snapshot.state;
      this.#received = ReceivedDeliveries.fromSnapshot(snapshot.received);
      this.#snapshots.recovered(message.metadata.sequenceNr);
      return;
    }
    this.#apply(message);
  }

  #deliver(delivery: InboundDelivery): void {
    // A copy arriving while the first one is being persisted cannot happen: `persist` holds later
    // commands back until its handler ran, so this check always sees every earlier delivery.
    if (this.#received.has(delivery.senderId, delivery.deliveryId)) {
      this.sender.tell(new DeliveryApplied(delivery.messageId, true));
      this.onDuplicate(delivery);
      return;
    }
    let events: readonly Event[];
    try {
      if (!Number.isSafeInteger(delivery.deliveryId) || delivery.deliveryId < 1) {
        throw new InvalidOptionError(`delivery ids are positive integers, got ${String(delivery.deliveryId)} in ${delivery.messageId}`);
      }
      events = this.applyDelivery(delivery, this.#state);
    } catch (error) {
      this.sender.tell(new StatusFailure(asError(error)));
      return;
    }
    const replyTo = this.sender;
    const { senderId, deliveryId, oldestUnconfirmedId } = delivery;
    const applied = [...events];
    // Two literals rather than a conditional spread, which V8 builds as a slow dictionary object.
    const event: DeliveryAppliedEvent<Event> =
      oldestUnconfirmedId === undefined
        ? { type: DELIVERY_APPLIED_EVENT, senderId, deliveryId, events: applied }
        : { type: DELIVERY_APPLIED_EVENT, senderId, deliveryId, senderLowWater: oldestUnconfirmedId, events: applied };
    void this.persist(event, (persisted) => {
      this.#apply(persisted);
      replyTo.tell(new DeliveryApplied(delivery.messageId, false));
      this.#maybeSnapshot();
    });
  }

  /** The event could not be stored (e.g. not JSON): tell the consumer, which retries and then parks the message. */
  override onPersistRejected(cause: Error, event: unknown, sequenceNr: number): void {
    super.onPersistRejected(cause, event, sequenceNr);
    // The pipeline runs this with the sender of the rejected persist as `sender`.
    this.sender.tell(new StatusFailure(cause));
  }

  #apply(event: DeliveryAppliedEvent<Event>): void {
    // An entity sees only some of a sender's ids; without the sender's low-water mark every one of
    // them would stay in `above` forever. Part of the event, so replay rebuilds the same state.
    if (event.senderLowWater !== undefined && event.senderLowWater > 1) this.#received.advanceTo(event.senderId, event.senderLowWater - 1);
    this.#received.add(event.senderId, event.deliveryId);
    let state = this.#state;
    for (const effect of event.events) state = this.applyEvent(state, effect);
    this.#state = state;
    this.#snapshots.applied();
  }

  #maybeSnapshot(): void {
    if (!this.#snapshots.takeIfDue()) return;
    this.saveSnapshot({ state: this.#state, received: this.#received.toSnapshot() } satisfies DeduplicatingEntitySnapshot<State>);
  }
}
