import { randomUUID } from 'node:crypto';
import type { ActorCell } from '../actor/actor-cell.js';
import { Actor } from '../actor/actor.js';
import { SteadfastError, StashOverflowError } from '../actor/errors.js';
import type { Envelope } from '../actor/mailbox.js';
import { StatusFailure } from '../actor/messages.js';
import { InvalidDeleteError, InvalidPersistenceIdError, SequenceNumberOverflowError } from './errors.js';
import type { WriteOutcome } from './journal.js';
import { Persistence } from './persistence.js';
import { resolveActorSettings, type PersistentActorSettings, type ResolvedActorSettings } from './persistence-settings.js';
import { InvocationGroup, InvocationQueue, type Invocation } from './pending-invocations.js';
import type { AtomicWrite, PersistentRepr } from './persistent-repr.js';
import {
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeleteSnapshotFailure,
  DeleteSnapshotsFailure,
  DeleteSnapshotsSuccess,
  DeleteSnapshotSuccess,
  LoadSnapshotFailed,
  LoadSnapshotResult,
  Recover,
  RecoveryCompleted,
  SaveSnapshotFailure,
  SaveSnapshotSuccess,
  type SnapshotOffer,
} from './protocol.js';
import { Recovery } from './recovery.js';
import { runRecovery } from './recovery-run.js';
import { SnapshotMetadata } from './snapshot-metadata.js';
import { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';

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

type Phase = 'starting' | 'recovering' | 'processing' | 'stopped';

/**
 * An event-sourced actor (Akka's PersistentActor). Commands go to `onCommand`, which persists
 * events; once the journal stored them, their handlers run and update the state. After a crash or
 * restart, `onRecover` receives the newest matching snapshot (SnapshotOffer), the events after it,
 * then RecoveryCompleted.
 *
 * Ordering guarantees: handlers run in the order of the persist calls; while a stashing persist
 * (`persist`, `persistAll`, `defer`) is pending, new commands wait in a bounded internal stash and are
 * handled afterwards in arrival order; `persistAsync` does not hold commands back.
 */
export abstract class PersistentActor<Command = unknown, Event = unknown> extends Actor {
  /** Identifies the event stream; stable across incarnations. Set it in the constructor or as a getter. */
  abstract readonly persistenceId: string;

  abstract onCommand(command: Command | PersistenceReply): void | Promise<void>;

  abstract onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void;

  readonly #persistence: Persistence;
  readonly #options: PersistentActorSettings;
  #settings!: ResolvedActorSettings;
  #pid = '';
  readonly #writerUuid = randomUUID();
  #phase: Phase = 'starting';
  #lastSequenceNr = 0;
  #assignedSequenceNr = 0;
  #persistedSinceStart = false;
  readonly #invocations = new InvocationQueue();
  #pendingStashing = 0;
  #batch: AtomicWrite[] = [];
  #batchInvocations: Invocation[][] = [];
  #writeInFlight = false;
  #flushScheduled = false;
  #runningInvocations = false;
  #internalStash: Envelope[] = [];
  #overflowWarned = false;

  constructor(options: PersistentActorSettings = {}) {
    super();
    this.#persistence = Persistence.get(this.context.system);
    this.#options = options;
  }

  /** Not used: `aroundReceive` routes commands to `onCommand` and replayed events to `onRecover`. */
  receive(_message: unknown): void {}

  /** How to recover; override to choose a snapshot, a target sequence number or none. */
  get recovery(): Recovery {
    return Recovery.default;
  }

  get isRecovering(): boolean {
    return this.#phase === 'starting' || this.#phase === 'recovering';
  }

  /** Highest sequence number persisted (or replayed) so far. */
  get lastSequenceNr(): number {
    return this.#lastSequenceNr;
  }

  /** The sequence number a snapshot taken now is stored under (Akka: equals lastSequenceNr). */
  get snapshotSequenceNr(): number {
    return this.#lastSequenceNr;
  }

  // --- hooks ------------------------------------------------------------------------------------

  /** Recovery replayed everything; RecoveryCompleted comes next. */
  onReplaySuccess(): void {}

  /** Recovery failed (the actor stops). Default: log with the persistenceId and sequence number. */
  onRecoveryFailure(cause: Error, event?: unknown): void {
    this.log.error(
      { err: cause, persistenceId: this.#pid, sequenceNr: this.#lastSequenceNr, eventType: event === undefined ? undefined : typeof event },
      `recovery of "${this.#pid}" failed; the actor stops`,
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
    return this.#enqueueEvents([event], handler, true, undefined);
  }

  persistAll<E extends Event>(events: readonly E[], handler: Handler<E>, onComplete?: () => void | Promise<void>): Promise<void> {
    return this.#enqueueEvents(events, handler, true, onComplete);
  }

  persistAsync<E extends Event>(event: E, handler: Handler<E>): Promise<void> {
    return this.#enqueueEvents([event], handler, false, undefined);
  }

  persistAllAsync<E extends Event>(events: readonly E[], handler: Handler<E>, onComplete?: () => void | Promise<void>): Promise<void> {
    return this.#enqueueEvents(events, handler, false, onComplete);
  }

  /** Runs `handler(value)` after every earlier persist handler; holds commands back like `persist`. */
  defer<T>(value: T, handler: Handler<T>): Promise<void> {
    return this.#enqueueDefer(value, handler, true);
  }

  /** Runs `handler(value)` after every earlier persist handler; nothing is written. */
  deferAsync<T>(value: T, handler: Handler<T>): Promise<void> {
    return this.#enqueueDefer(value, handler, false);
  }

  #assertCanPersist(): void {
    if (this.#phase !== 'processing') {
      throw new SteadfastError('ERR_PERSIST_WHILE_RECOVERING', `"${this.#pid}" cannot persist while it is ${this.#phase}`);
    }
  }

  #enqueueEvents<E>(events: readonly E[], handler: Handler<E>, stashing: boolean, onComplete?: () => void | Promise<void>): Promise<void> {
    this.#assertCanPersist();
    if (!Array.isArray(events)) throw new TypeError('persistAll takes an array of events');
    const group = new InvocationGroup();
    const sender = this.#cell.currentSender;
    const prepared: { payload: PersistentRepr; event: E }[] = [];
    let rejection: Error | undefined;
    for (const event of events) {
      try {
        const { payload, tags } = this.#persistence.adapters.toJournal(event);
        const serialized = this.#persistence.serialize(payload);
        prepared.push({
          event,
          payload: {
            ...serialized,
            persistenceId: this.#pid,
            sequenceNr: 0,
            writerUuid: this.#writerUuid,
            timestamp: Date.now(),
            tags,
          },
        });
      } catch (error) {
        rejection = error instanceof Error ? error : new Error(String(error));
        break;
      }
    }
    const invocations: Invocation[] = [];
    if (rejection) {
      // All of a persistAll or none of it: one bad event rejects the whole call, before anything is written.
      for (const event of events) {
        invocations.push({ kind: 'event', value: event, handler, stashing, sender, sequenceNr: this.#assignedSequenceNr, group, status: 'rejected', cause: rejection });
      }
    } else if (prepared.length > 0) {
      const reprs: PersistentRepr[] = [];
      for (const { event, payload } of prepared) {
        if (this.#assignedSequenceNr >= Number.MAX_SAFE_INTEGER) throw new SequenceNumberOverflowError(this.#pid);
        const sequenceNr = ++this.#assignedSequenceNr;
        reprs.push({ ...payload, sequenceNr });
        invocations.push({ kind: 'event', value: event, handler, stashing, sender, sequenceNr, group, status: 'pending' });
      }
      this.#batch.push({ persistenceId: this.#pid, events: reprs });
      this.#batchInvocations.push(invocations.slice());
      this.#persistedSinceStart = true;
    }
    if (onComplete) {
      invocations.push({ kind: 'defer', value: undefined, handler: onComplete, stashing, sender, sequenceNr: 0, group, status: 'written' });
    }
    if (invocations.length === 0) return Promise.resolve();
    for (const invocation of invocations) this.#addInvocation(invocation);
    this.#scheduleFlush();
    return group.promise;
  }

  #enqueueDefer<T>(value: T, handler: Handler<T>, stashing: boolean): Promise<void> {
    this.#assertCanPersist();
    const group = new InvocationGroup();
    this.#addInvocation({ kind: 'defer', value, handler, stashing, sender: this.#cell.currentSender, sequenceNr: 0, group, status: 'written' });
    this.#scheduleFlush();
    return group.promise;
  }

  #addInvocation(invocation: Invocation): void {
    invocation.group.remaining++;
    if (invocation.stashing) this.#pendingStashing++;
    this.#invocations.push(invocation);
  }

  // Flushing in a microtask gathers every persist call of one command into one journal call, and
  // lets an async onCommand `await this.persist(...)` without deadlocking on its own mailbox.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
      this.#runReady();
    });
  }

  #flush(): void {
    if (this.#writeInFlight || this.#batch.length === 0 || this.#phase === 'stopped') return;
    const writes = this.#batch;
    const invocations = this.#batchInvocations;
    this.#batch = [];
    this.#batchInvocations = [];
    this.#writeInFlight = true;
    this.#persistence.writeMessages(writes).then(
      (outcomes) => this.#onWritten(invocations, outcomes),
      (error: unknown) => this.#onWritten(invocations, writes.map(() => ({ status: 'failed', cause: asError(error) }) as const)),
    );
  }

  #onWritten(invocations: Invocation[][], outcomes: readonly WriteOutcome[]): void {
    if (this.#phase === 'stopped') return;
    this.#writeInFlight = false;
    invocations.forEach((group, index) => {
      const outcome: WriteOutcome = outcomes[index] ?? { status: 'failed', cause: new Error('the journal returned fewer outcomes than writes') };
      for (const invocation of group) {
        invocation.status = outcome.status === 'ok' ? 'written' : outcome.status;
        if (outcome.status !== 'ok') invocation.cause = outcome.cause;
      }
    });
    this.#runReady();
    this.#flush();
  }

  /** Runs ready invocations in order; pauses on an async handler and resumes when it settles. */
  #runReady(): void {
    if (this.#runningInvocations || this.#phase === 'stopped') return;
    this.#runningInvocations = true;
    for (;;) {
      const next = this.#invocations.peek();
      if (!next || next.status === 'pending') break;
      this.#invocations.shift();
      if (next.status === 'failed') {
        this.#persistFailed(next);
        return;
      }
      let result: PromiseLike<void> | undefined;
      try {
        result = this.#runInvocation(next);
      } catch (error) {
        this.#runningInvocations = false;
        this.#handlerFailed(next, error);
        return;
      }
      if (result) {
        result.then(
          () => {
            this.#runningInvocations = false;
            if ((this.#phase as Phase) === 'stopped') return;
            this.#finishInvocation(next);
            this.#runReady();
          },
          (error: unknown) => {
            this.#runningInvocations = false;
            this.#handlerFailed(next, error);
          },
        );
        return;
      }
      if ((this.#phase as Phase) === 'stopped') break;
      this.#finishInvocation(next);
    }
    this.#runningInvocations = false;
  }

  #runInvocation(invocation: Invocation): PromiseLike<void> | undefined {
    const cell = this.#cell;
    const previousSender = cell.currentSender;
    cell.currentSender = invocation.sender;
    try {
      if (invocation.status === 'rejected') {
        if (invocation.kind === 'event') this.onPersistRejected(invocation.cause!, invocation.value, invocation.sequenceNr);
        return undefined;
      }
      if (invocation.kind === 'event') this.#lastSequenceNr = invocation.sequenceNr;
      const result = (invocation.handler as (value: unknown) => void | Promise<void>)(invocation.value);
      return isThenable(result) ? result : undefined;
    } finally {
      cell.currentSender = previousSender;
    }
  }

  #finishInvocation(invocation: Invocation): void {
    if (invocation.stashing && --this.#pendingStashing === 0) this.#unstashInternally();
    invocation.group.completeOne();
  }

  #handlerFailed(invocation: Invocation | undefined, error: unknown): void {
    invocation?.group.fail(error);
    this.#abandonInvocations(error);
    // A throwing event handler is a bug in the actor: the supervisor decides (restart by default).
    this.#cell.reportFailure(error);
  }

  #persistFailed(failed: Invocation): void {
    this.#runningInvocations = false;
    const cause = failed.cause ?? new Error('journal write failed');
    try {
      this.onPersistFailure(cause, failed.value, failed.sequenceNr);
    } finally {
      failed.group.fail(cause);
      this.#abandonInvocations(cause);
      void this.context.stop(this.self);
    }
  }

  #abandonInvocations(cause: unknown): void {
    for (const invocation of this.#invocations.drain()) invocation.group.fail(cause);
    this.#pendingStashing = 0;
    this.#batch = [];
    this.#batchInvocations = [];
  }

  // --- internal stash -----------------------------------------------------------------------------

  get #cell(): ActorCell {
    return this.context as ActorCell;
  }

  #stashInternally(message: unknown): void {
    const cell = this.#cell;
    const envelope: Envelope = { message, sender: cell.currentSender };
    if (this.#internalStash.length < this.#settings.internalStashCapacity) {
      this.#internalStash.push(envelope);
      return;
    }
    const capacity = this.#settings.internalStashCapacity;
    if (!this.#overflowWarned) {
      this.#overflowWarned = true;
      this.log.warn({ persistenceId: this.#pid, capacity }, `internal stash of ${this.self.path} is full; commands are ${this.#settings.internalStashOverflowStrategy === 'reply' ? 'answered with an error' : 'sent to dead letters'}`);
    }
    if (this.#settings.internalStashOverflowStrategy === 'reply' && envelope.sender) {
      envelope.sender.tell(new StatusFailure(new StashOverflowError(this.self.path, capacity)), this.self);
      this.context.system.publishDeadLetter(message, envelope.sender, this.self.path, 'internal stash overflow (sender notified)');
    } else {
      this.context.system.publishDeadLetter(message, envelope.sender, this.self.path, 'internal stash overflow');
    }
  }

  #unstashInternally(): void {
    if (this.#internalStash.length === 0) return;
    const stash = this.#internalStash;
    this.#internalStash = [];
    this.#overflowWarned = false;
    this.#cell.prepend(stash);
  }

  // --- runtime integration ------------------------------------------------------------------------

  override afterConstruct(): void {
    const pid: unknown = this.persistenceId;
    if (typeof pid !== 'string' || pid.length === 0) {
      throw new InvalidPersistenceIdError(`${this.constructor.name} must set persistenceId to a non-empty string (got ${JSON.stringify(pid)})`);
    }
    this.#settings = resolveActorSettings(this.constructor.name, this.#options, this.#persistence.settings);
    this.#persistence.claim(pid, this.context, this.self.path);
    this.#pid = pid;
  }

  override aroundPreStart(): void | Promise<void> {
    const started = this.preStart();
    if (isThenable(started)) return Promise.resolve(started).then(() => this.#startRecovery(this.recovery));
    this.#startRecovery(this.recovery);
  }

  override aroundReceive(message: unknown): void | Promise<void> {
    if (this.#phase === 'processing' && this.#pendingStashing === 0) {
      if (message instanceof Recover) return this.#manualRecover(message);
      const behavior = this.context.behavior;
      return behavior ? behavior(message) : this.onCommand(message as Command);
    }
    if (this.#phase === 'stopped') return;
    this.#stashInternally(message);
  }

  override aroundPreRestart(reason: unknown, message: unknown): void | Promise<void> {
    this.#phase = 'stopped';
    this.#abandonInvocations(reason);
    // Commands held back belong to the actor, not to this instance: the next incarnation handles them.
    const stash = this.#internalStash;
    this.#internalStash = [];
    this.#cell.prepend(stash);
    return super.aroundPreRestart(reason, message);
  }

  override aroundPostStop(): void | Promise<void> {
    this.#phase = 'stopped';
    this.#abandonInvocations(new SteadfastError('ERR_ACTOR_STOPPED', `${this.self.path} stopped`));
    for (const envelope of this.#internalStash) {
      this.context.system.publishDeadLetter(envelope.message, envelope.sender, this.self.path, 'recipient stopped');
    }
    this.#internalStash = [];
    this.#persistence.release(this.#pid, this.context);
    return super.aroundPostStop();
  }

  // --- recovery -----------------------------------------------------------------------------------

  #startRecovery(recovery: Recovery): void {
    this.#phase = 'recovering';
    void runRecovery({
      persistence: this.#persistence,
      persistenceId: this.#pid,
      recovery,
      timeoutMs: this.#settings.recoveryEventTimeoutMs,
      isAlive: () => this.#phase === 'recovering',
      deliver: (message) => this.onRecover(message as Event | SnapshotOffer | RecoveryCompleted),
      setLastSequenceNr: (sequenceNr) => {
        this.#lastSequenceNr = sequenceNr;
      },
      lastSequenceNr: () => this.#lastSequenceNr,
    }).then(
      (highest) => {
        if (this.#phase !== 'recovering') return;
        this.#lastSequenceNr = highest;
        this.#assignedSequenceNr = highest;
        try {
          this.onReplaySuccess();
          this.onRecover(RecoveryCompleted.instance);
        } catch (error) {
          this.#recoveryFailed(asError(error), RecoveryCompleted.instance);
          return;
        }
        this.#phase = 'processing';
        this.#afterRecovery();
        this.#unstashInternally();
      },
      (failure: { cause: Error; event?: unknown }) => {
        if (this.#phase !== 'recovering') return;
        this.#recoveryFailed(failure.cause, failure.event);
      },
    );
  }

  /** Runs after RecoveryCompleted, before stashed commands (AtLeastOnceDelivery redelivers here). @internal */
  protected afterRecovery(): void {}

  #afterRecovery(): void {
    try {
      this.afterRecovery();
    } catch (error) {
      this.#cell.reportFailure(error);
    }
  }

  #recoveryFailed(cause: Error, event: unknown): void {
    this.#phase = 'stopped';
    try {
      this.onRecoveryFailure(cause, event);
    } finally {
      void this.context.stop(this.self);
    }
  }

  #manualRecover(message: Recover): void {
    if (this.#persistedSinceStart || this.#lastSequenceNr !== this.#assignedSequenceNr) {
      this.log.warn(`${this.self.path} ignores Recover: it has persisted events since it started`);
      return;
    }
    this.#lastSequenceNr = 0;
    this.#startRecovery(message.recovery ?? Recovery.default);
  }

  // --- snapshots and deletion ---------------------------------------------------------------------

  /** Stores `snapshot` under the current sequence number; SaveSnapshotSuccess / Failure follows. */
  saveSnapshot(snapshot: unknown): void {
    const metadata = new SnapshotMetadata(this.#pid, this.#lastSequenceNr, Date.now());
    let serialized;
    try {
      serialized = this.#persistence.serialize(snapshot);
    } catch (error) {
      this.self.tell(new SaveSnapshotFailure(metadata, asError(error)));
      return;
    }
    this.#persistence.saveSnapshot(metadata, serialized).then(
      () => this.self.tell(new SaveSnapshotSuccess(metadata)),
      (error: unknown) => this.self.tell(new SaveSnapshotFailure(metadata, asError(error))),
    );
  }

  deleteSnapshot(sequenceNr: number): void {
    const metadata = new SnapshotMetadata(this.#pid, sequenceNr, 0);
    this.#persistence.deleteSnapshot(metadata).then(
      () => this.self.tell(new DeleteSnapshotSuccess(metadata)),
      (error: unknown) => this.self.tell(new DeleteSnapshotFailure(metadata, asError(error))),
    );
  }

  deleteSnapshots(criteria: SnapshotSelectionCriteria): void {
    this.#persistence.deleteSnapshots(this.#pid, criteria).then(
      () => this.self.tell(new DeleteSnapshotsSuccess(criteria)),
      (error: unknown) => this.self.tell(new DeleteSnapshotsFailure(criteria, asError(error))),
    );
  }

  /** Asks for the newest snapshot of `persistenceId` matching `criteria`; LoadSnapshotResult follows. */
  loadSnapshot(persistenceId: string, criteria: SnapshotSelectionCriteria = SnapshotSelectionCriteria.latest, toSequenceNr = Number.MAX_SAFE_INTEGER): void {
    this.#persistence.loadSnapshot(persistenceId, criteria.limitTo(toSequenceNr)).then(
      (stored) => {
        const snapshot = stored ? { metadata: stored.metadata, snapshot: this.#persistence.serialization.deserialize(stored.snapshot) } : undefined;
        this.self.tell(new LoadSnapshotResult(snapshot, toSequenceNr));
      },
      (error: unknown) => this.self.tell(new LoadSnapshotFailed(asError(error))),
    );
  }

  /**
   * Deletes events up to `toSequenceNr` (inclusive); DeleteMessagesSuccess / Failure follows. The
   * highest sequence number survives, so numbering never restarts.
   */
  deleteMessages(toSequenceNr: number): void {
    const target = toSequenceNr === Number.MAX_SAFE_INTEGER ? this.#lastSequenceNr : toSequenceNr;
    if (!Number.isSafeInteger(target) || target < 0 || target > this.#lastSequenceNr) {
      const error = new InvalidDeleteError(`cannot delete messages to ${toSequenceNr}: the highest persisted sequence number of "${this.#pid}" is ${this.#lastSequenceNr}`);
      this.self.tell(new DeleteMessagesFailure(error, toSequenceNr));
      return;
    }
    try {
      this.validateDeleteMessages(target);
    } catch (error) {
      this.self.tell(new DeleteMessagesFailure(asError(error), target));
      return;
    }
    this.#persistence.deleteMessagesTo(this.#pid, target).then(
      () => this.self.tell(new DeleteMessagesSuccess(target)),
      (error: unknown) => this.self.tell(new DeleteMessagesFailure(asError(error), target)),
    );
  }

  /** Throw to refuse a deletion (AtLeastOnceDelivery protects its delivery counter here). @internal */
  protected validateDeleteMessages(_toSequenceNr: number): void {}
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<void>).then === 'function';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
