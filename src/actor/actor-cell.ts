import type { Logger } from 'pino';
import type { Actor, ActorFactory, MessageOf } from './actor.js';
import type { ActorContext, Behavior } from './actor-context.js';
import type { ActorRef, InternalActorRef } from './actor-ref.js';
import type { ActorSystem } from './actor-system.js';
import { ChildContainer, childPath } from './children.js';
import { constructWith } from './construction.js';
import { unwatch, wantsTerminated, watch, type WatchingCell } from './death-watch.js';
import type { Runnable } from './dispatcher.js';
import { ActorNameTakenError, InvalidOptionError, StashOverflowError } from './errors.js';
import { fail, reportFailure } from './fault-handling.js';
import { isThenable, start } from './lifecycle.js';
import { LocalActorRef } from './local-actor-ref.js';
import { Mailbox, type Envelope } from './mailbox.js';
import { PoisonPill, Terminated } from './messages.js';
import { stopSelf, terminate } from './termination.js';
import { ActorTimers, TimerFired } from './timers.js';

/** Starting, running, suspended (failed, its parent deciding), stopping, stopped. */
export type CellState = 'starting' | 'running' | 'suspended' | 'stopping' | 'stopped';

/**
 * The runtime side of one actor: what its context offers, and its mailbox and message loop. The cell
 * (and its ref) outlive restarts; only the Actor instance is replaced. Its lifecycle hooks run in
 * lifecycle.ts, failures are handled in fault-handling.ts, stopping is in termination.ts; children and
 * death watch keep their books in children.ts and death-watch.ts.
 *
 * Invariants: at most one message is being handled at a time (`busy` covers async receives and async
 * lifecycle hooks); a stopped cell never handles a message again (they go to dead letters).
 */
export class ActorCell implements ActorContext, Runnable, WatchingCell {
  scheduled = false;
  readonly self: InternalActorRef;
  actor!: Actor;
  readonly restartTimestamps: number[] = [];

  // The lifecycle state machine, shared with lifecycle.ts, fault-handling.ts and termination.ts, which
  // run the hooks, failures and stops. Plain fields rather than accessors: the message loop reads and
  // writes them for every message. Nothing outside those files and this one touches them.

  /** Where the actor is in its life. @internal */
  state: CellState = 'starting';
  /** A message or a lifecycle hook is being handled: the mailbox waits. @internal */
  busy = false;
  /** Stop once the message being handled settled (PoisonPill, stopSelf). @internal */
  stopRequested = false;
  /** A failure reported while busy; it takes effect once the message or hook settled. @internal */
  deferredFailure: { error: unknown } | undefined;
  /** What stopSelf returns; made by the first stop. @internal termination.ts */
  terminated: Promise<void> | undefined;
  /** @internal termination.ts */
  resolveTerminated: (() => void) | undefined;
  /** Made with the first child. @internal */
  childContainer: ChildContainer | undefined;
  /** @internal death-watch.ts */
  watchers: Set<WatchingCell> | undefined;
  /** @internal death-watch.ts */
  watching: Set<ActorRef> | undefined;

  readonly #mailbox = new Mailbox();
  #currentSender: ActorRef | undefined;
  #currentMessage: unknown;
  #timers: ActorTimers | undefined;
  #stash: Envelope[] | undefined;
  #behaviors: Behavior[] | undefined;
  #log: Logger | undefined;

  constructor(
    readonly system: ActorSystem,
    readonly parentCell: ActorCell | undefined,
    readonly name: string,
    readonly path: string,
    readonly factory: ActorFactory,
  ) {
    this.self = new LocalActorRef(this);
  }

  // --- ActorContext -------------------------------------------------------------------------

  get sender(): ActorRef {
    return this.#currentSender ?? this.system.deadLetters;
  }

  get parent(): ActorRef {
    return this.parentCell?.self ?? this.system.deadLetters;
  }

  get children(): Iterable<ActorRef> {
    return this.childContainer?.refs ?? [];
  }

  get log(): Logger {
    this.#log ??= this.system.log.child({ actor: this.path });
    return this.#log;
  }

  get timers(): ActorTimers {
    this.#timers ??= new ActorTimers((fired) => this.deliver(fired, undefined));
    return this.#timers;
  }

  get behavior(): Behavior | undefined {
    const behaviors = this.#behaviors;
    return behaviors && behaviors.length > 0 ? behaviors[behaviors.length - 1] : undefined;
  }

  get stashSize(): number {
    return this.#stash?.length ?? 0;
  }

  get isTerminated(): boolean {
    return this.state === 'stopped';
  }

  get isStopping(): boolean {
    return this.state === 'stopping' || this.state === 'stopped' || this.stopRequested;
  }

  /** The message being handled (persistence stashes it internally). @internal */
  get currentMessage(): unknown {
    return this.#currentMessage;
  }

  /** Lets persistence run a deferred handler with the sender of the command that caused it. @internal */
  set currentSender(sender: ActorRef | undefined) {
    this.#currentSender = sender;
  }

  get currentSender(): ActorRef | undefined {
    return this.#currentSender;
  }

  actorOf<A extends Actor>(factory: ActorFactory<A>, name?: string): ActorRef<MessageOf<A>> {
    this.system.assertRunning();
    if (this.isStopping) {
      throw new ActorNameTakenError(`${this.path}/${name ?? '?'} (its parent is stopping)`);
    }
    this.childContainer ??= new ChildContainer();
    const childName = this.childContainer.nameFor(name);
    const path = childPath(this.path, childName);
    if (this.childContainer.get(childName)) throw new ActorNameTakenError(path);
    const cell = new ActorCell(this.system, this, childName, path, factory);
    cell.actor = constructWith(cell, factory);
    // May throw (e.g. a persistenceId already in use): the caller gets the error, no child is made.
    cell.actor.afterConstruct();
    this.childContainer.add(cell);
    this.system.dispatcher.schedule(cell);
    return cell.self;
  }

  child(name: string): ActorRef | undefined {
    return this.childContainer?.get(name)?.self;
  }

  childCell(name: string): ActorCell | undefined {
    return this.childContainer?.get(name);
  }

  stop(ref: ActorRef): Promise<void> {
    if (ref === this.self) return this.stopSelf();
    const cell = ref instanceof LocalActorRef ? ref.cell : undefined;
    if (!cell || cell.parentCell !== this) {
      return Promise.reject(new InvalidOptionError(`${ref.path} is not a child of ${this.path}; only self and children can be stopped here`));
    }
    return cell.stopSelf();
  }

  watch<R extends ActorRef>(ref: R): R {
    watch(this, ref);
    return ref;
  }

  unwatch(ref: ActorRef): void {
    unwatch(this, ref);
  }

  stash(): void {
    this.#stash ??= [];
    const capacity = this.system.settings.stashCapacity;
    if (this.#stash.length >= capacity) throw new StashOverflowError(this.path, capacity);
    this.#stash.push({ message: this.#currentMessage, sender: this.#currentSender });
  }

  unstashAll(): void {
    const stash = this.#stash;
    if (!stash || stash.length === 0) return;
    this.#stash = undefined;
    if (this.unstashInterceptor) this.unstashInterceptor(stash);
    else this.prepend(stash);
  }

  /**
   * Set by PersistentActor: while it holds commands in its internal stash, what the user unstashes
   * must go in front of them (they arrived earlier), not in front of the mailbox. @internal
   */
  unstashInterceptor: ((envelopes: Envelope[]) => void) | undefined;

  become(behavior: Behavior, discardOld = true): void {
    this.#behaviors ??= [];
    if (discardOld) this.#behaviors.pop();
    this.#behaviors.push(behavior);
  }

  unbecome(): void {
    this.#behaviors?.pop();
  }

  /** Stops after the message being handled; resolves once stopped (children first). */
  stopSelf(): Promise<void> {
    return stopSelf(this);
  }

  /**
   * A failure of this actor detected outside `receive` (e.g. in a persist handler that ran when the
   * journal answered). If a message is being handled, the failure takes effect once it settled.
   * @internal
   */
  reportFailure(error: unknown): void {
    reportFailure(this, error);
  }

  // --- delivery and processing ----------------------------------------------------------------

  deliver(message: unknown, sender: ActorRef | undefined): void {
    if (this.state === 'stopped') {
      this.system.publishDeadLetter(message, sender, this.path, 'recipient stopped');
      return;
    }
    this.#mailbox.enqueue(message, sender);
    if (!this.busy && this.state !== 'suspended') this.system.dispatcher.schedule(this);
  }

  /** Puts envelopes in front of the mailbox (unstash). @internal */
  prepend(envelopes: readonly Envelope[]): void {
    this.#mailbox.prepend(envelopes);
    if (!this.busy && this.state === 'running') this.system.dispatcher.schedule(this);
  }

  run(limit: number): void {
    if (this.busy) return;
    if (this.state === 'starting') {
      start(this);
      return;
    }
    if (this.state !== 'running') return;
    const mailbox = this.#mailbox;
    for (let handled = 0; handled < limit && !mailbox.isEmpty; handled++) {
      const message = mailbox.peekMessage();
      this.#currentSender = mailbox.senderOfHead();
      mailbox.dequeue();
      this.#currentMessage = message;
      let result: void | Promise<void>;
      this.busy = true;
      try {
        result = this.#invoke(message);
      } catch (error) {
        this.busy = false;
        fail(this, error, message);
        return;
      }
      if (isThenable(result)) {
        result.then(
          () => this.afterMessage(),
          (error: unknown) => {
            this.busy = false;
            fail(this, error, message);
          },
        );
        return;
      }
      this.busy = false;
      if (this.stopRequested || this.deferredFailure) {
        this.afterMessage();
        return;
      }
    }
    this.#forgetCurrentMessage();
    if (!mailbox.isEmpty) this.system.dispatcher.schedule(this);
  }

  /**
   * A handled message and its sender are not kept: an idle actor would otherwise hold its last command
   * and, after an ask, the asker's promise and timer (~400 bytes per idle entity, more for big messages).
   */
  #forgetCurrentMessage(): void {
    this.#currentSender = undefined;
    this.#currentMessage = undefined;
  }

  #invoke(message: unknown): void | Promise<void> {
    if (message instanceof TimerFired) {
      const accepted = this.#timers?.accept(message);
      if (!accepted) return;
      this.#currentMessage = accepted.message;
      return this.actor.aroundReceive(accepted.message);
    }
    if (message === PoisonPill.instance) {
      this.stopRequested = true;
      return;
    }
    if (message instanceof Terminated && !wantsTerminated(this, message)) return;
    return this.actor.aroundReceive(message);
  }

  /**
   * A message, a lifecycle hook or a suspension is over: a failure or stop that waited for it takes
   * effect now, else the mailbox goes on. @internal
   */
  afterMessage(): void {
    this.busy = false;
    const deferred = this.deferredFailure;
    if (deferred) {
      this.deferredFailure = undefined;
      fail(this, deferred.error, this.#currentMessage);
      return;
    }
    this.#forgetCurrentMessage();
    if (this.stopRequested) {
      void terminate(this);
      return;
    }
    if (this.state === 'running' && !this.#mailbox.isEmpty) this.system.dispatcher.schedule(this);
  }

  // --- for fault-handling.ts and termination.ts: what they need of the cell's private data ------

  /** Cancels the timers, without making a scheduler for an actor that never used one. @internal */
  cancelTimers(): void {
    this.#timers?.cancelAll();
  }

  /** A restart undoes `become`. @internal */
  unbecomeAll(): void {
    this.#behaviors = undefined;
  }

  /** Empties the mailbox and the stash of a stopped actor, returning what they held (mailbox first). @internal */
  takeLeftovers(): Envelope[] {
    const leftovers = this.#mailbox.drain();
    for (const envelope of this.#stash ?? []) leftovers.push(envelope);
    this.#stash = undefined;
    return leftovers;
  }
}
