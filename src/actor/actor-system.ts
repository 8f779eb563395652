import pino, { type Logger } from 'pino';
import { ActorCell } from './actor-cell.js';
import { Actor, type ActorFactory, type MessageOf } from './actor.js';
import type { ActorRef, InternalActorRef } from './actor-ref.js';
import { ask } from './ask.js';
import { constructWith } from './construction.js';
import { DeadLetterOffice, type DeadLetterListener } from './dead-letters.js';
import { Dispatcher } from './dispatcher.js';
import { ActorSystemTerminatedError, InvalidOptionError } from './errors.js';
import { LocalActorRef } from './local-actor-ref.js';
import { DeadLetter } from './messages.js';
import { validateActorName } from './names.js';
import { defaultSupervisorStrategy, type SupervisorStrategy } from './supervision.js';

/**
 * Options of `ActorSystem.create`. Higher layers add their own fields through declaration merging
 * (e.g. `journal` and `snapshotStore` come from the persistence layer), so the runtime stays unaware
 * of them.
 */
export interface ActorSystemOptions {
  /** One pino logger for the whole system; every actor logs through a child carrying its path. */
  logger?: Logger;
  /** Default timeout of `ask`, ms. Default 5000. */
  askTimeoutMs?: number;
  /** Messages one actor handles before the next actor gets a turn. Default 64. */
  throughput?: number;
  /** Longest stretch the runtime holds the event loop before yielding to I/O and timers, ms. Default 10. */
  turnBudgetMs?: number;
  /** Capacity of `context.stash()` per actor. Default 100 000. */
  stashCapacity?: number;
  /** Dead letters logged per 10 s; the rest are counted and summarised. Default 10. */
  deadLetterLogLimit?: number;
  /** How top-level actors (children of /user) are supervised. Default: restart. */
  guardianSupervisorStrategy?: SupervisorStrategy;
}

export interface ActorSystemSettings {
  readonly askTimeoutMs: number;
  readonly throughput: number;
  readonly turnBudgetMs: number;
  readonly stashCapacity: number;
  readonly deadLetterLogLimit: number;
  readonly guardianSupervisorStrategy: SupervisorStrategy;
}

/** A per-system singleton created on first use (how persistence attaches its journal to a system). */
export interface ExtensionId<T> {
  readonly name: string;
  create(system: ActorSystem): T;
}

/** Resolves a path when a message is sent, so the target may be (re)created later. */
export interface ActorSelection {
  readonly path: string;
  tell(message: unknown, sender?: ActorRef): void;
  resolveOne(): ActorRef | undefined;
}

class Guardian extends Actor {
  receive(): void {}
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`ActorSystem option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export class ActorSystem {
  readonly name: string;
  readonly log: Logger;
  readonly settings: ActorSystemSettings;
  /** The options as given, for extensions that read their own fields. */
  readonly options: Readonly<ActorSystemOptions>;
  /** @internal */
  readonly dispatcher: Dispatcher;
  readonly #deadLetterOffice: DeadLetterOffice;
  readonly #guardian: ActorCell;
  readonly #extensions = new Map<ExtensionId<unknown>, unknown>();
  readonly #terminationHooks: (() => void | Promise<void>)[] = [];
  #terminating: Promise<void> | undefined;
  #terminated = false;

  static create(name: string, options: ActorSystemOptions = {}): ActorSystem {
    return new ActorSystem(name, options);
  }

  /** Use `ActorSystem.create`. Protected so that the package entry point can add its plugin defaults. */
  protected constructor(name: string, options: ActorSystemOptions) {
    validateActorName(name);
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('ActorSystem options must be an object');
    }
    this.name = name;
    this.options = options;
    this.settings = {
      askTimeoutMs: positiveInteger('askTimeoutMs', options.askTimeoutMs, 5000),
      throughput: positiveInteger('throughput', options.throughput, 64),
      turnBudgetMs: positiveInteger('turnBudgetMs', options.turnBudgetMs, 10),
      stashCapacity: positiveInteger('stashCapacity', options.stashCapacity, 100_000),
      deadLetterLogLimit: positiveInteger('deadLetterLogLimit', options.deadLetterLogLimit, 10),
      guardianSupervisorStrategy: options.guardianSupervisorStrategy ?? defaultSupervisorStrategy,
    };
    const root = options.logger ?? pino({ level: process.env.STEADFAST_LOG_LEVEL ?? 'info' });
    this.log = root.child({ system: name });
    this.dispatcher = new Dispatcher({ throughput: this.settings.throughput, turnBudgetMs: this.settings.turnBudgetMs });
    this.#deadLetterOffice = new DeadLetterOffice(this.log, this.settings.deadLetterLogLimit, 10_000);
    const guardianFactory = () => new Guardian();
    this.#guardian = new ActorCell(this, undefined, 'user', '/user', guardianFactory);
    // The guardian is built like any actor so that it supervises its children the same way.
    this.#guardian.actor = constructWith(this.#guardian, guardianFactory);
    this.dispatcher.schedule(this.#guardian);
  }

  get isTerminated(): boolean {
    return this.#terminated;
  }

  get deadLetters(): ActorRef {
    return this.#deadLetterOffice.ref;
  }

  /** How many messages went to dead letters since the system started. */
  get deadLetterCount(): number {
    return this.#deadLetterOffice.count;
  }

  /** Calls `listener` for every dead letter; returns an unsubscribe function. */
  onDeadLetter(listener: DeadLetterListener): () => void {
    return this.#deadLetterOffice.subscribe(listener);
  }

  /** @internal */
  publishDeadLetter(message: unknown, sender: ActorRef | undefined, recipient: string, reason: string): void {
    this.#deadLetterOffice.publish(message instanceof DeadLetter ? message : new DeadLetter(message, sender, recipient, reason));
  }

  /** @internal */
  assertRunning(): void {
    if (this.#terminating) throw new ActorSystemTerminatedError(this.name);
  }

  /**
   * Creates a top-level actor under `/user`. Names must be unique among siblings. The ref accepts the
   * actor's messages (`MessageOf<A>`), so `ref.tell(wrongMessage)` does not compile.
   */
  actorOf<A extends Actor>(factory: ActorFactory<A>, name?: string): ActorRef<MessageOf<A>> {
    if (typeof factory !== 'function') {
      throw new InvalidOptionError('actorOf takes a factory function, e.g. system.actorOf(() => new MyActor(), "name")');
    }
    return this.#guardian.actorOf(factory, name);
  }

  /** Stops an actor (and its children first); resolves once its postStop ran. */
  stop(ref: ActorRef): Promise<void> {
    if (ref instanceof LocalActorRef) return ref.cell.stopSelf();
    return Promise.resolve();
  }

  /**
   * Asks `target` with this system's settings. `message` must fit the target when the type arguments
   * are inferred (`system.ask(ref, msg)`); TypeScript infers none of them once one is given, so with an
   * explicit reply type prefer `ref.ask<Reply>(msg)`, which checks the message as well.
   */
  ask<Reply = unknown, Message = unknown>(target: ActorRef<Message>, message: NoInfer<Message>, timeoutMs?: number): Promise<Reply> {
    const timeout = timeoutMs ?? this.settings.askTimeoutMs;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      return Promise.reject(new InvalidOptionError(`ask timeout must be a positive number of ms, got ${String(timeoutMs)}`));
    }
    return ask<Reply>(this, target, message, timeout);
  }

  /** The live actor at `path` (e.g. "/user/orders/o-1"), or undefined. */
  lookup(path: string): ActorRef | undefined {
    const segments = path.split('/').filter((segment) => segment.length > 0);
    // The guardian itself is not handed out: stopping it would stop every actor of the system.
    if (segments[0] !== 'user' || segments.length < 2) return undefined;
    let cell: ActorCell | undefined = this.#guardian;
    for (const segment of segments.slice(1)) {
      cell = cell.childCell(segment);
      if (!cell) return undefined;
    }
    return cell.isTerminated ? undefined : cell.self;
  }

  actorSelection(path: string): ActorSelection {
    return {
      path,
      tell: (message: unknown, sender?: ActorRef) => {
        const target = this.lookup(path) as InternalActorRef | undefined;
        if (target) target.deliver(message, sender);
        else this.publishDeadLetter(message, sender, path, 'no actor at this path');
      },
      resolveOne: () => this.lookup(path),
    };
  }

  extension<T>(id: ExtensionId<T>): T {
    if (this.#extensions.has(id)) return this.#extensions.get(id) as T;
    const created = id.create(this);
    this.#extensions.set(id, created);
    return created;
  }

  /** Runs after every actor stopped, in reverse order of registration (plugins close last-in first-out). */
  registerOnTermination(hook: () => void | Promise<void>): void {
    this.#terminationHooks.push(hook);
  }

  /** Stops every actor (children before parents), then runs termination hooks; resolves when all is closed. */
  terminate(): Promise<void> {
    this.#terminating ??= (async () => {
      await this.#guardian.stopSelf();
      for (const hook of [...this.#terminationHooks].reverse()) {
        try {
          await hook();
        } catch (error) {
          this.log.error({ err: error }, 'termination hook failed');
        }
      }
      this.#terminated = true;
    })();
    return this.#terminating;
  }
}
