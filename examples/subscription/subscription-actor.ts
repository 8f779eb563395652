/**
 * The seed's SubscriptionActor in TypeScript, in the seed's receive style (`command(UpgradeSubscription,
 * ...)`, `recover(SnapshotOffer, ...)`): commands are decided against the state, the resulting
 * events are persisted atomically with persistAll, each event updates the state, and the onComplete
 * callback — after all of them are in the journal — sends the confirmation and replies. The read model
 * is not the actor's job any more: a projection builds it from the journal (read-model.ts), so a crash
 * between persisting and syncing can no longer leave it behind. On start the actor recovers: from the
 * newest snapshot if there is one, then from the events.
 */
import { ReceivePersistentActor, type ActorRef, RecoveryCompleted, SaveSnapshotFailure, SaveSnapshotSuccess, SnapshotOffer } from 'steadfast';
import { apply, EMPTY, processUpgrade, type Plan, type SubscriptionEvent, type SubscriptionState } from './subscription-state.js';

export class UpgradeSubscription {
  constructor(
    readonly plan: Plan,
    readonly seats: number,
  ) {}
}
export class GetSubscription {}
export class TakeSnapshot {}

export class UpgradeComplete {
  constructor(readonly state: SubscriptionState) {}
}
export class UpgradeRejected {
  constructor(readonly reason: string) {}
}

export interface SubscriptionView {
  readonly state: SubscriptionState;
  readonly lastSequenceNr: number;
  /** How this incarnation recovered: the snapshot's sequence number (0: none) and the events replayed after it. */
  readonly recoveredFromSnapshotAt: number;
  readonly eventsReplayed: number;
}

/** Email, notifications: side effects that run only after the events are persisted. */
export interface Notifier {
  upgraded(subscriptionId: string, state: SubscriptionState): Promise<void>;
}

type Command = UpgradeSubscription | GetSubscription | TakeSnapshot;

export class SubscriptionActor extends ReceivePersistentActor<Command, SubscriptionEvent> {
  readonly persistenceId: string;
  #state: SubscriptionState = EMPTY;
  #recoveredFromSnapshotAt = 0;
  #eventsReplayed = 0;
  #snapshotRequester: ActorRef | undefined;

  constructor(
    private readonly subscriptionId: string,
    private readonly notifier: Notifier,
  ) {
    super();
    this.persistenceId = `subscription-${subscriptionId}`;

    // Handle commands: decide, persist, react.
    this.command(UpgradeSubscription, (cmd) => {
      const decided = processUpgrade(this.#state, cmd.plan, cmd.seats);
      if (!Array.isArray(decided)) return this.sender.tell(new UpgradeRejected(decided.rejected));
      const replyTo = this.sender;
      return this.persistAll(
        decided,
        (event) => {
          this.#state = apply(this.#state, event);
        },
        async () => {
          await this.notifier.upgraded(this.subscriptionId, this.#state); // email, notifications
          replyTo.tell(new UpgradeComplete(this.#state));
        },
      );
    });
    this.command(GetSubscription, () =>
      this.sender.tell({
        state: this.#state,
        lastSequenceNr: this.lastSequenceNr,
        recoveredFromSnapshotAt: this.#recoveredFromSnapshotAt,
        eventsReplayed: this.#eventsReplayed,
      } satisfies SubscriptionView),
    );
    this.command(TakeSnapshot, () => {
      this.#snapshotRequester = this.sender;
      this.saveSnapshot(this.#state);
    });
    const snapshotDone = (reply: SaveSnapshotSuccess | SaveSnapshotFailure): void => {
      this.#snapshotRequester?.tell(reply);
      this.#snapshotRequester = undefined;
    };
    this.command(SaveSnapshotSuccess, snapshotDone);
    this.command(SaveSnapshotFailure, snapshotDone);

    // Recover state on start: the newest snapshot, then the events after it.
    this.recover(SnapshotOffer, (offer) => {
      this.#state = offer.snapshot as SubscriptionState;
      this.#recoveredFromSnapshotAt = offer.metadata.sequenceNr;
    });
    // Nothing to catch up when recovery ends: the projection keeps the read model, from the journal.
    this.recover(RecoveryCompleted, () => {});
    this.recoverAny((event) => {
      this.#state = apply(this.#state, event as SubscriptionEvent);
      this.#eventsReplayed++;
    });
  }
}
