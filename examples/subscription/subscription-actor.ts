/**
 * The seed's SubscriptionActor in TypeScript: commands are decided against the state, the resulting
 * events are persisted atomically with persistAll, each event updates the state, and the onComplete
 * callback — after all of them are in the journal — syncs the read model, sends the confirmation and
 * replies. On start the actor recovers: from the newest snapshot if there is one, then from the events.
 */
import { PersistentActor, type ActorRef, RecoveryCompleted, SaveSnapshotFailure, SaveSnapshotSuccess, SnapshotOffer, type PersistenceReply } from '../../src/index.js';
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

/** Where the projection lives (EF Core in the seed); here anything with an async `sync`. */
export interface ReadModel {
  sync(subscriptionId: string, state: SubscriptionState): Promise<void>;
}

/** Email, notifications: side effects that run only after the events are persisted. */
export interface Notifier {
  upgraded(subscriptionId: string, state: SubscriptionState): Promise<void>;
}

type Command = UpgradeSubscription | GetSubscription | TakeSnapshot;

export class SubscriptionActor extends PersistentActor<Command, SubscriptionEvent> {
  readonly persistenceId: string;
  #state: SubscriptionState = EMPTY;
  #recoveredFromSnapshotAt = 0;
  #eventsReplayed = 0;
  #snapshotRequester: ActorRef | undefined;

  constructor(
    private readonly subscriptionId: string,
    private readonly readModel: ReadModel,
    private readonly notifier: Notifier,
  ) {
    super();
    this.persistenceId = `subscription-${subscriptionId}`;
  }

  onCommand(command: Command | PersistenceReply): void {
    if (command instanceof UpgradeSubscription) {
      const decided = processUpgrade(this.#state, command.plan, command.seats);
      if (!Array.isArray(decided)) {
        this.sender.tell(new UpgradeRejected(decided.rejected));
        return;
      }
      const replyTo = this.sender;
      void this.persistAll(
        decided,
        (event) => {
          this.#state = apply(this.#state, event);
        },
        async () => {
          await this.readModel.sync(this.subscriptionId, this.#state);
          await this.notifier.upgraded(this.subscriptionId, this.#state);
          replyTo.tell(new UpgradeComplete(this.#state));
        },
      );
      return;
    }
    if (command instanceof GetSubscription) {
      this.sender.tell({ state: this.#state, lastSequenceNr: this.lastSequenceNr, recoveredFromSnapshotAt: this.#recoveredFromSnapshotAt, eventsReplayed: this.#eventsReplayed } satisfies SubscriptionView);
      return;
    }
    if (command instanceof TakeSnapshot) {
      this.#snapshotRequester = this.sender;
      this.saveSnapshot(this.#state);
      return;
    }
    if (command instanceof SaveSnapshotSuccess || command instanceof SaveSnapshotFailure) {
      this.#snapshotRequester?.tell(command);
      this.#snapshotRequester = undefined;
    }
  }

  onRecover(message: SubscriptionEvent | SnapshotOffer | RecoveryCompleted): void {
    if (message instanceof SnapshotOffer) {
      this.#state = message.snapshot as SubscriptionState;
      this.#recoveredFromSnapshotAt = message.metadata.sequenceNr;
    } else if (message instanceof RecoveryCompleted) {
      // The read model may have missed the last sync (a crash right after persisting): catch it up.
      void this.readModel.sync(this.subscriptionId, this.#state);
    } else {
      this.#state = apply(this.#state, message);
      this.#eventsReplayed++;
    }
  }
}
