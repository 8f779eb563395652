import type { ActorCell } from '../actor/actor-cell.js';
import { Actor } from '../actor/actor.js';
import { SteadfastError } from '../actor/errors.js';
import type { Envelope } from '../actor/mailbox.js';
import { InvalidPersistenceIdError } from './errors.js';
import { Persistence } from './persistence.js';
import { PersistentActorHost } from './persistent-actor-host.js';
import { resolveActorSettings, type PersistentActorSettings, type ResolvedActorSettings } from './persistence-settings.js';
import {
  type DeleteMessagesFailure,
  type DeleteMessagesSuccess,
  type DeleteSnapshotFailure,
  type DeleteSnapshotsFailure,
  type DeleteSnapshotsSuccess,
  type DeleteSnapshotSuccess,
  type LoadSnapshotFailed,
  type LoadSnapshotResult,
  Recover,
  RecoveryCompleted,
  type SaveSnapshotFailure,
  type SaveSnapshotSuccess,
  type SnapshotOffer,
} from './protocol.js';
import { Recovery } from './recovery.js';
import { runRecovery } from './recovery-run.js';
import * as operations from './snapshot-operations.js';
import { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';
import { asError, isThenable, WritePipeline } from './write-pipeline.js';

/** Shared by every actor constructed without options (one object fewer per actor). */
const NO_SETTINGS: PersistentActorSettings = Object.freeze({});

export type Handler<E> = (event: E) => void | Promise<void>;

/** Replies from the persistence layer that reach `onCommand`. */
export type PersistenceReply =
  | SaveSnapshotSuccess
  | SaveSnapshotFailure
  | DeleteSnapshotSuccess
  | DeleteSnapshotFailure
  | DeleteSnapshotsSuccess
  | DeleteSnapshotsFailure
  | DeleteMessagesSuccess
  | DeleteMessagesFailure
  | LoadSnapshotResult
  | LoadSnapshotFailed;

/**
 * What `onRecover` receives: a SnapshotOffer (only if snapshots are saved), the events, and
 * RecoveryCompleted (always, last). With a `{ type }` union of events, narrow the two protocol messages
 * first (`if (message instanceof SnapshotOffer) ...; if (message instanceof RecoveryCompleted) return;`),
 * then switch on `message.type`; an actor that needs neither can use `ReceivePersistentActor`, whose
 * `recover(...)` handlers drop a RecoveryCompleted nobody registered for.
 */
export type RecoveryMessage<Event, Snapshot = unknown> = Event | SnapshotOffer<Snapshot> | RecoveryCompleted;

/**
 * An event-sourced actor (Akka's PersistentActor). Commands go to `onCommand`, which persists
 * events; once the journal stored them, their handlers run and update the state. After a crash or
 * restart, `onRecover` receives the newest matching snapshot (SnapshotOffer), the events after it,
 * then RecoveryCompleted.
 *
 * Ordering guarantees: handlers run in the order of the persist calls; while a stashing persist
 * (`persist`, `persistAll`, `defer`) is pending, new commands wait in a bounded internal stash and are
 * handled afterwards in arrival order; `persistAsync` does not hold commands back.
 *
 * The write pipeline lives in write-pipeline.ts, the internal stash in internal-stash.ts, snapshot
 * and deletion requests in snapshot-operations.ts, the replay in recovery-run.ts.
 */
export abstract class PersistentActor<Command = unknown, Event = unknown> extends Actor<Command> {
  /** Identifies the event stream; stable across incarnations. Set it in the constructor or as a getter. */
  abstract readonly persistenceId: string;

  /**
   * Handles a command, and the replies of this actor's own snapshot and deletion requests
   * (`saveSnapshot` → SaveSnapshotSuccess / Failure, ..., as in Akka). Refs to the actor accept
   * `Command` only: the replies are not part of what others may send.
   *
   * An actor that makes no such request may declare `onCommand(command: Command)`: TypeScript checks
   * method parameters bivariantly (also under `strict`), so the narrower override compiles. One that
   * does declare `onCommand(command: Command | PersistenceReply)` (or the replies it handles) and
   * tells them apart with `instanceof`.
   */
  abstract onCommand(command: Command | PersistenceReply): void | Promise<void>;

  /**
   * Handles recovery: the SnapshotOffer (if a snapshot matched), the replayed events, then
   * RecoveryCompleted (Akka's receiveRecover). See `RecoveryMessage`.
   */
  abstract onRecover(message: RecoveryMessage<Event>): void;

  readonly #persistence: Persistence;
  readonly #options: PersistentActorSettings;
  #settings!: ResolvedActorSettings;
  #pid = '';
  readonly #host: PersistentActorHost;
  readonly #pipeline: WritePipeline;

  constructor(options: PersistentActorSettings = NO_SETTINGS) {
    super();
    this.#persistence = Persistence.get(this.context.system);
    this.#options = options;
    this.#host = new PersistentActorHost(this.#persistence, this.#cell, this);
    this.#pipeline = new WritePipeline(this.#host);
  }

  /**
   * Not used: `aroundReceive` routes commands to `onCommand` and replayed events to `onRecover`. Its
   * parameter is what makes `MessageOf<this>` the `Command` type.
   */
  receive(_message: Command): void {}

  /** How to recover; override to choose a snapshot, a target sequence number or none. */
  get recovery(): Recovery {
    return Recovery.default;
  }

  get isRecovering(): boolean {
    return this.#host.phase === 'starting' || this.#host.phase === 'recovering';
  }

  /** Highest sequence number persisted (or replayed) so far. */
  get lastSequenceNr(): number {
    return this.#host.lastSequenceNr;
  }

  /** The sequence number a snapshot taken now is stored under (Akka: equals lastSequenceNr). */
  get snapshotSequenceNr(): number {
    return this.#host.lastSequenceNr;
  }

  // --- hooks ------------------------------------------------------------------------------------

  /** Recovery replayed everything; RecoveryCompleted comes next. */
  onReplaySuccess(): void {}

  /** Recovery failed (the actor stops). Default: log with the persistenceId and sequence number. */
  onRecoveryFailure(cause: Error, event?: unknown): void {
    this.log.error(
      { err: cause, persistenceId: this.#pid, sequenceNr: this.#host.lastSequenceNr, eventType: event === undefined ? undefined : typeof event },
      `recovery of "${this.#pid}" failed at sequence number ${this.#host.lastSequenceNr}; the actor stops`,
    );
  }

  /** The journal failed to store an event (the actor stops; a BackoffSupervisor brings it back). */
  onPersistFailure(cause: Error, _event: unknown, sequenceNr: number): void {
    this.log.error({ err: cause, persistenceId: this.#pid, sequenceNr }, `persisting to "${this.#pid}" failed; the actor stops`);
  }

  /** The event was refused (e.g. it cannot be serialized); nothing was stored, the actor goes on. */
  onPersistRejected(cause: Error, _event: unknown, sequenceNr: number): void {
    this.log.warn({ err: cause, persistenceId: this.#pid, sequenceNr }, `event for "${this.#pid}" was rejected and not stored`);
  }

  // --- persisting -------------------------------------------------------------------------------

  persist<E extends Event>(event: E, handler: Handler<E>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.persistOne(event, handler, true);
  }

  persistAll<E extends Event>(events: readonly E[], handler: Handler<E>, onComplete?: () => void | Promise<void>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.persist(events, handler, true, onComplete);
  }

  persistAsync<E extends Event>(event: E, handler: Handler<E>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.persistOne(event, handler, false);
  }

  persistAllAsync<E extends Event>(events: readonly E[], handler: Handler<E>, onComplete?: () => void | Promise<void>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.persist(events, handler, false, onComplete);
  }

  /** Runs `handler(value)` after every earlier persist handler; holds commands back like `persist`. */
  defer<T>(value: T, handler: Handler<T>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.defer(value, handler, true);
  }

  /** Runs `handler(value)` after every earlier persist handler; nothing is written. */
  deferAsync<T>(value: T, handler: Handler<T>): Promise<void> {
    this.#assertCanPersist();
    return this.#pipeline.defer(value, handler, false);
  }

  #assertCanPersist(): void {
    if (this.#host.phase !== 'processing') {
      throw new SteadfastError('ERR_PERSIST_WHILE_RECOVERING', `"${this.#pid}" cannot persist while it is ${this.#host.phase}`);
    }
  }

  // --- snapshots and deletion ---------------------------------------------------------------------

  /** Stores `snapshot` under the current sequence number; SaveSnapshotSuccess / Failure follows. */
  saveSnapshot(snapshot: unknown): void {
    operations.saveSnapshot(this.#operationsHost(), snapshot);
  }

  deleteSnapshot(sequenceNr: number): void {
    operations.deleteSnapshot(this.#operationsHost(), sequenceNr);
  }

  deleteSnapshots(criteria: SnapshotSelectionCriteria): void {
    operations.deleteSnapshots(this.#operationsHost(), criteria);
  }

  /** Asks for the newest snapshot of `persistenceId` matching `criteria`; LoadSnapshotResult follows. */
  loadSnapshot(persistenceId: string, criteria: SnapshotSelectionCriteria = SnapshotSelectionCriteria.latest, toSequenceNr = Number.MAX_SAFE_INTEGER): void {
    operations.loadSnapshot(this.#operationsHost(), persistenceId, criteria, toSequenceNr);
  }

  /**
   * Deletes events up to `toSequenceNr` (inclusive); DeleteMessagesSuccess / Failure follows. The
   * highest sequence number survives, so numbering never restarts.
   */
  deleteMessages(toSequenceNr: number): void {
    operations.deleteMessages(this.#operationsHost(), toSequenceNr, (target) => this.validateDeleteMessages(target));
  }

  /** Throw to refuse a deletion (AtLeastOnceDelivery protects its delivery counter here). @internal */
  protected validateDeleteMessages(_toSequenceNr: number): void {}

  #operationsHost(): operations.OperationsHost {
    return { persistence: this.#persistence, persistenceId: this.#pid, self: this.self, lastSequenceNr: this.#host.lastSequenceNr };
  }

  // --- runtime integration ------------------------------------------------------------------------

  get #cell(): ActorCell {
    return this.context as ActorCell;
  }

  override afterConstruct(): void {
    const pid: unknown = this.persistenceId;
    if (typeof pid !== 'string' || pid.length === 0) {
      throw new InvalidPersistenceIdError(`${this.constructor.name} must set persistenceId to a non-empty string (got ${JSON.stringify(pid)})`);
    }
    this.#settings = resolveActorSettings(this.constructor.name, this.#options, this.#persistence.settings);
    this.#persistence.claim(pid, this.context, this.self.path);
    this.#pid = pid;
    this.#pipeline.identify(pid);
    this.#cell.unstashInterceptor = (envelopes) => this.#onUserUnstash(envelopes);
  }

  #onUserUnstash(envelopes: Envelope[]): void {
    if (this.#host.phase !== 'stopped' && (this.isRecovering || this.#pipeline.holdsCommands)) this.#host.prependToStash(envelopes);
    else this.#cell.prepend(envelopes);
  }

  override aroundPreStart(): void | Promise<void> {
    const started = this.preStart();
    if (isThenable(started)) return Promise.resolve(started).then(() => this.#startRecovery(this.recovery));
    this.#startRecovery(this.recovery);
  }

  // A restarted incarnation recovers like a new one: its state is rebuilt from the journal.
  override aroundPostRestart(reason: unknown): void | Promise<void> {
    const restarted = this.postRestart(reason);
    if (isThenable(restarted)) return Promise.resolve(restarted).then(() => this.#startRecovery(this.recovery));
    this.#startRecovery(this.recovery);
  }

  override aroundReceive(message: unknown): void | Promise<void> {
    if (this.#host.phase === 'processing' && !this.#pipeline.holdsCommands) {
      if (message instanceof Recover) return this.#manualRecover(message);
      const behavior = this.context.behavior;
      return behavior ? behavior(message) : this.onCommand(message as Command);
    }
    if (this.#host.phase === 'stopped') return;
    this.#host.stash(message, this.#cell.currentSender, this.#settings, this.#pid);
  }

  override aroundPreRestart(reason: unknown, message: unknown): void | Promise<void> {
    this.#host.phase = 'stopped';
    this.#pipeline.abandon(reason);
    // Commands held back belong to the actor, not to this instance: the next incarnation handles them.
    this.#cell.prepend(this.#host.drainStash());
    return super.aroundPreRestart(reason, message);
  }

  override aroundPostStop(): void | Promise<void> {
    this.#host.phase = 'stopped';
    // An error only when someone waits for it: its stack costs more than the rest of a stop.
    if (this.#pipeline.hasPendingCalls) this.#pipeline.abandon(new SteadfastError('ERR_ACTOR_STOPPED', `${this.self.path} stopped`));
    for (const envelope of this.#host.drainStash()) {
      this.context.system.publishDeadLetter(envelope.message, envelope.sender, this.self.path, 'recipient stopped');
    }
    this.#persistence.release(this.#pid, this.context);
    return super.aroundPostStop();
  }

  // --- recovery -----------------------------------------------------------------------------------

  #startRecovery(recovery: Recovery): void {
    this.#host.phase = 'recovering';
    const prerequisite = this.recoveryPrerequisite();
    prerequisite?.catch(() => {});
    void runRecovery({
      persistence: this.#persistence,
      persistenceId: this.#pid,
      recovery,
      timeoutMs: this.#settings.recoveryEventTimeoutMs,
      isAlive: () => this.#host.phase === 'recovering',
      deliver: (message) => this.onRecover(message as Event | SnapshotOffer | RecoveryCompleted),
      setLastSequenceNr: (sequenceNr) => {
        this.#host.lastSequenceNr = sequenceNr;
      },
      lastSequenceNr: () => this.#host.lastSequenceNr,
      coveredFrom: () => this.recoveryRereadFrom(),
      deliverCovered: (event, sequenceNr) => this.onRecoverCovered(event as Event, sequenceNr),
      coveredDone: () => this.onRecoverCoveredDone(),
    }).then(
      (highest) => {
        if (!prerequisite) return this.#recovered(highest);
        prerequisite.then(
          () => this.#recovered(highest),
          (error: unknown) => {
            if (this.#host.phase === 'recovering') this.#recoveryFailed(asError(error), undefined);
          },
        );
      },
      (failure: { cause: Error; event?: unknown }) => {
        if (this.#host.phase !== 'recovering') return;
        this.#recoveryFailed(failure.cause, failure.event);
      },
    );
  }

  #recovered(highest: number): void {
    if (this.#host.phase !== 'recovering') return;
    this.#host.lastSequenceNr = highest;
    this.#pipeline.startAt(highest);
    try {
      this.onReplaySuccess();
      this.onRecover(RecoveryCompleted.instance);
    } catch (error) {
      this.#recoveryFailed(asError(error), RecoveryCompleted.instance);
      return;
    }
    this.#host.phase = 'processing';
    try {
      this.afterRecovery();
    } catch (error) {
      this.#cell.reportFailure(error);
    }
    this.#host.releaseStash();
  }

  /**
   * Started with each recovery and awaited, in parallel with the replay, before it completes: what the
   * actor needs before it handles commands besides its own events (AtLeastOnceDelivery reads its sender
   * identity here). A rejection fails the recovery. @internal
   */
  protected recoveryPrerequisite(): Promise<void> | undefined {
    return undefined;
  }

  /**
   * Asked right after the SnapshotOffer was handled: re-read the events from this sequence number up
   * to the snapshot's (the outbox's snapshots reference payloads kept in `accepted` events). They go to
   * `onRecoverCovered` (lastSequenceNr stays the snapshot's), then `onRecoverCoveredDone`, then the
   * events after the snapshot to `onRecover`. Default: none. @internal
   */
  protected recoveryRereadFrom(): number | undefined {
    return undefined;
  }

  /** An event at or below the offered snapshot's sequence number, re-read for `recoveryRereadFrom`. @internal */
  protected onRecoverCovered(_event: Event, _sequenceNr: number): void {}

  /** Every re-read event was handed over; throwing fails the recovery. @internal */
  protected onRecoverCoveredDone(): void {}

  /** Runs after RecoveryCompleted, before stashed commands (AtLeastOnceDelivery redelivers here). @internal */
  protected afterRecovery(): void {}

  #recoveryFailed(cause: Error, event: unknown): void {
    this.#host.phase = 'stopped';
    try {
      this.onRecoveryFailure(cause, event);
    } finally {
      void this.context.stop(this.self);
    }
  }

  #manualRecover(message: Recover): void {
    if (this.#pipeline.persistedSinceStart) {
      this.log.warn(`${this.self.path} ignores Recover: it has persisted events since it started`);
      return;
    }
    this.#host.lastSequenceNr = 0;
    this.#startRecovery(message.recovery ?? Recovery.default);
  }
}
