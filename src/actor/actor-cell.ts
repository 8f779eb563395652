import type { Logger } from 'pino';
import type { Actor, ActorFactory, MessageOf } from './actor.js';
import type { ActorContext, Behavior } from './actor-context.js';
import type { ActorRef, InternalActorRef } from './actor-ref.js';
import type { ActorSystem } from './actor-system.js';
import { constructWith } from './construction.js';
import type { Runnable } from './dispatcher.js';
import { ActorNameTakenError, InvalidOptionError, StashOverflowError } from './errors.js';
import { LocalActorRef } from './local-actor-ref.js';
import { Mailbox, type Envelope } from './mailbox.js';
import { PoisonPill, Terminated } from './messages.js';
import { generatedName, validateActorName } from './names.js';
import { decideForChild } from './supervisor.js';
import { ActorTimers, TimerFired } from './timers.js';

type CellState = 'starting' | 'running' | 'suspended' | 'stopping' | 'stopped';

/**
 * Terminated notices that were let through once (their watch consumed). One that was stashed and comes
 * back by unstash has no watch left to consume, yet it is wanted; weak, so notices are not kept alive.
 */
const acceptedTerminations = new WeakSet<Terminated>();

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * The runtime side of one actor: its mailbox, its place in the tree, its lifecycle and supervision.
 * The cell (and its ref) outlive restarts; only the Actor instance is replaced.
 *
 * Invariants: at most one message is being handled at a time (`busy` covers async receives and async
 * lifecycle hooks); a stopped cell never handles a message again (they go to dead letters).
 */
export class ActorCell implements ActorContext, Runnable {
  scheduled = false;
  readonly self: InternalActorRef;
  actor!: Actor;
  readonly restartTimestamps: number[] = [];

  #state: CellState = 'starting';
  #busy = false;
  #stopRequested = false;
  #deferredFailure: { error: unknown } | undefined;
  readonly #mailbox = new Mailbox();
  #currentSender: ActorRef | undefined;
  #currentMessage: unknown;
  #children: Map<string, ActorCell> | undefined;
  #childCounter = 0;
  #watchers: Set<ActorCell> | undefined;
  #watching: Set<ActorRef> | undefined;
  #timers: ActorTimers | undefined;
  #stash: Envelope[] | undefined;
  #behaviors: Behavior[] | undefined;
  #log: Logger | undefined;
  #terminated: Promise<void> | undefined;
  #resolveTerminated: (() => void) | undefined;

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
    return this.#children ? [...this.#children.values()].map((cell) => cell.self) : [];
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
    return this.#state === 'stopped';
  }

  get isStopping(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped' || this.#stopRequested;
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
    let childName: string;
    if (name === undefined) {
      do childName = generatedName(this.#childCounter++);
      while (this.#children?.has(childName));
    } else {
      validateActorName(name);
      childName = name;
    }
    this.#children ??= new Map();
    const childPath = this.path.endsWith('/') ? this.path + childName : `${this.path}/${childName}`;
    if (this.#children.has(childName)) throw new ActorNameTakenError(childPath);
    const cell = new ActorCell(this.system, this, childName, childPath, factory);
    cell.actor = constructWith(cell, factory);
    // May throw (e.g. a persistenceId already in use): the caller gets the error, no child is made.
    cell.actor.afterConstruct();
    this.#children.set(childName, cell);
    this.system.dispatcher.schedule(cell);
    return cell.self;
  }

  child(name: string): ActorRef | undefined {
    return this.#children?.get(name)?.self;
  }

  childCell(name: string): ActorCell | undefined {
    return this.#children?.get(name);
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
    if ((ref as ActorRef) === this.self) return ref;
    this.#watching ??= new Set();
    this.#watching.add(ref);
    const target = ref instanceof LocalActorRef ? ref.cell : undefined;
    if (!target || target.isTerminated) this.deliver(new Terminated(ref), undefined);
    else {
      target.#watchers ??= new Set();
      target.#watchers.add(this);
    }
    return ref;
  }

  unwatch(ref: ActorRef): void {
    this.#watching?.delete(ref);
    if (ref instanceof LocalActorRef) ref.cell.#watchers?.delete(this);
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

  // --- delivery and processing ----------------------------------------------------------------

  deliver(message: unknown, sender: ActorRef | undefined): void {
    if (this.#state === 'stopped') {
      this.system.publishDeadLetter(message, sender, this.path, 'recipient stopped');
      return;
    }
    this.#mailbox.enqueue(message, sender);
    if (!this.#busy && this.#state !== 'suspended') this.system.dispatcher.schedule(this);
  }

  /** Puts envelopes in front of the mailbox (unstash). @internal */
  prepend(envelopes: readonly Envelope[]): void {
    this.#mailbox.prepend(envelopes);
    if (!this.#busy && this.#state === 'running') this.system.dispatcher.schedule(this);
  }

  run(limit: number): void {
    if (this.#busy) return;
    if (this.#state === 'starting') {
      this.#runHook(
        () => this.actor.aroundPreStart(),
        () => this.#becomeRunning(),
        'preStart',
      );
      return;
    }
    if (this.#state !== 'running') return;
    const mailbox = this.#mailbox;
    for (let handled = 0; handled < limit && !mailbox.isEmpty; handled++) {
      const message = mailbox.peekMessage();
      this.#currentSender = mailbox.senderOfHead();
      mailbox.dequeue();
      this.#currentMessage = message;
      let result: void | Promise<void>;
      this.#busy = true;
      try {
        result = this.#invoke(message);
      } catch (error) {
        this.#busy = false;
        this.#fail(error, message);
        return;
      }
      if (isThenable(result)) {
        result.then(
          () => this.#afterMessage(),
          (error: unknown) => {
            this.#busy = false;
            this.#fail(error, message);
          },
        );
        return;
      }
      this.#busy = false;
      if (this.#stopRequested || this.#deferredFailure) {
        this.#afterMessage();
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
      this.#stopRequested = true;
      return;
    }
    if (message instanceof Terminated) {
      // After unwatch (or for a ref never watched) the notification is not wanted.
      if (this.#watching?.delete(message.actor)) acceptedTerminations.add(message);
      else if (!acceptedTerminations.has(message)) return;
    }
    return this.actor.aroundReceive(message);
  }

  #afterMessage(): void {
    this.#busy = false;
    const deferred = this.#deferredFailure;
    if (deferred) {
      this.#deferredFailure = undefined;
      this.#fail(deferred.error, this.#currentMessage);
      return;
    }
    this.#forgetCurrentMessage();
    if (this.#stopRequested) {
      void this.#doStop();
      return;
    }
    if (this.#state === 'running' && !this.#mailbox.isEmpty) this.system.dispatcher.schedule(this);
  }

  #becomeRunning(): void {
    if (this.#state === 'starting' || this.#state === 'suspended') this.#state = 'running';
    this.#afterMessage();
  }

  /** Runs a possibly-async lifecycle step while holding the mailbox; a failure counts as the actor's. */
  #runHook(step: () => void | Promise<void>, then: () => void, hookName: string): void {
    this.#busy = true;
    let result: void | Promise<void>;
    try {
      result = step();
    } catch (error) {
      this.#busy = false;
      this.#failInLifecycle(error, hookName);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => {
          this.#busy = false;
          then();
        },
        (error: unknown) => {
          this.#busy = false;
          this.#failInLifecycle(error, hookName);
        },
      );
    } else {
      this.#busy = false;
      then();
    }
  }

  #failInLifecycle(error: unknown, hookName: string): void {
    // As in Akka, an actor that cannot start (or restart) is stopped rather than restarted in a loop.
    this.log.error({ err: error }, `${hookName} failed; stopping ${this.path}`);
    void this.#doStop();
  }

  // --- supervision ----------------------------------------------------------------------------

  /**
   * A failure of this actor detected outside `receive` (e.g. in a persist handler that ran when the
   * journal answered). If a message is being handled, the failure takes effect once it settled.
   * @internal
   */
  reportFailure(error: unknown): void {
    if (this.#busy) {
      this.#deferredFailure ??= { error };
      return;
    }
    this.#fail(error, this.#currentMessage);
  }

  /** The actor failed handling `message`: suspend and let the parent decide. @internal */
  #fail(error: unknown, message: unknown): void {
    this.#deferredFailure = undefined;
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    if (this.#state === 'suspended') return;
    this.#state = 'suspended';
    this.log.error({ err: error, messageType: describeMessage(message) }, 'actor failed while handling a message; the message is dropped');
    if (this.#stopRequested) {
      void this.#doStop();
      return;
    }
    const parent = this.parentCell;
    if (!parent) {
      void this.#doStop();
      return;
    }
    parent.handleChildFailure(this, error, message);
  }

  /** @internal */
  handleChildFailure(child: ActorCell, error: unknown, message: unknown): void {
    const directive = decideForChild(this, child, error);
    switch (directive) {
      case 'resume':
        child.resume();
        return;
      case 'restart':
        child.restart(error, message);
        return;
      case 'stop':
        void child.stopSelf();
        return;
      case 'escalate':
        if (!this.parentCell) {
          this.log.error({ err: error }, `failure of ${child.path} escalated to the top; stopping it`);
          void child.stopSelf();
          return;
        }
        // This actor may be inside an async receive (or preStart): like reportFailure, fail it once that
        // settled, or a restart would run a second handler next to the pending one.
        if (this.#busy && (this.#state === 'running' || this.#state === 'starting')) {
          this.#deferredFailure ??= { error };
          return;
        }
        this.#fail(error, undefined);
        return;
    }
  }

  resume(): void {
    if (this.#state !== 'suspended') return;
    this.#state = 'running';
    for (const child of this.#children?.values() ?? []) child.resume();
    this.#afterMessage();
  }

  restart(reason: unknown, message: unknown): void {
    if (this.#state !== 'suspended') return;
    this.#timers?.cancelAll();
    const failed = this.actor;
    this.#runHook(
      () => failed.aroundPreRestart(reason, message),
      () => {
        this.unstashAll();
        this.#behaviors = undefined;
        try {
          this.actor = constructWith(this, this.factory);
          this.actor.afterConstruct();
        } catch (error) {
          this.#failInLifecycle(error, 'actor factory (restart)');
          return;
        }
        this.#runHook(
          () => this.actor.aroundPostRestart(reason),
          () => this.#becomeRunning(),
          'postRestart',
        );
      },
      'preRestart',
    );
  }

  // --- stopping -------------------------------------------------------------------------------

  /** Stops after the message being handled; resolves once stopped (children first). */
  stopSelf(): Promise<void> {
    this.#terminated ??= new Promise<void>((resolve) => {
      this.#resolveTerminated = resolve;
    });
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.#terminated;
    this.#stopRequested = true;
    if (!this.#busy) void this.#doStop();
    return this.#terminated;
  }

  async #doStop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#terminated ??= new Promise<void>((resolve) => {
      this.#resolveTerminated = resolve;
    });
    const wasStarted = this.#state !== 'starting';
    this.#state = 'stopping';
    this.#busy = true;
    this.#timers?.cancelAll();
    const children = [...(this.#children?.values() ?? [])];
    await Promise.all(children.map((child) => child.stopSelf()));
    if (wasStarted) {
      try {
        await this.actor.aroundPostStop();
      } catch (error) {
        this.log.error({ err: error }, 'postStop failed');
      }
    }
    this.#state = 'stopped';
    for (const envelope of this.#mailbox.drain()) {
      this.#dropToDeadLetters(envelope);
    }
    for (const envelope of this.#stash ?? []) this.#dropToDeadLetters(envelope);
    this.#stash = undefined;
    const parent = this.parentCell;
    if (parent && parent.#children?.get(this.name) === this) parent.#children.delete(this.name);
    for (const watcher of this.#watchers ?? []) watcher.deliver(new Terminated(this.self), undefined);
    this.#watchers = undefined;
    for (const watched of this.#watching ?? []) {
      if (watched instanceof LocalActorRef) watched.cell.#watchers?.delete(this);
    }
    this.#watching = undefined;
    this.#resolveTerminated?.();
  }

  #dropToDeadLetters(envelope: Envelope): void {
    // Runtime notices are not lost user messages: a stopping parent is bound to get its children's
    // Terminated, and reporting those would bury real dead letters in shutdown noise.
    if (envelope.message instanceof TimerFired || envelope.message === PoisonPill.instance || envelope.message instanceof Terminated) return;
    this.system.publishDeadLetter(envelope.message, envelope.sender, this.path, 'recipient stopped');
  }
}

export function describeMessage(message: unknown): string {
  if (message === null || message === undefined) return String(message);
  if (typeof message === 'object') return (message as object).constructor?.name ?? 'Object';
  return typeof message;
}
