import type { Logger } from 'pino';
import type { ActorContext } from './actor-context.js';
import type { ActorRef } from './actor-ref.js';
import { takeConstructingCell } from './construction.js';
import { defaultSupervisorStrategy, type SupervisorStrategy } from './supervision.js';

/**
 * Base class of every actor. `receive` handles one message at a time: when it returns a promise, the
 * next message is taken only after that promise settled. `self`, `sender` and `context` are available
 * from the constructor on.
 *
 * Lifecycle hooks may be async; the actor handles no message until they settled.
 *
 * `Message` is what the actor accepts: `class Counter extends Actor<Increment | Get>` makes
 * `system.actorOf(() => new Counter())` an `ActorRef<Increment | Get>`. Without it (or with a
 * `receive(message: unknown)`) the ref accepts anything, as before. The mailbox may still carry
 * runtime messages besides (`Terminated` of a watched actor, a timer's message): declare them in
 * `Message` if the actor handles them, or narrow them from `unknown` in an untyped actor.
 */
export abstract class Actor<Message = unknown> {
  readonly context: ActorContext;

  constructor() {
    this.context = takeConstructingCell();
  }

  abstract receive(message: Message): void | Promise<void>;

  get self(): ActorRef<Message> {
    return this.context.self;
  }

  /** The sender of the message being handled; dead letters when there is none. */
  get sender(): ActorRef {
    return this.context.sender;
  }

  get log(): Logger {
    return this.context.log;
  }

  /** How this actor supervises its children. Default: restart on any failure. */
  get supervisorStrategy(): SupervisorStrategy {
    return defaultSupervisorStrategy;
  }

  /** Runs before the first message. */
  preStart(): void | Promise<void> {}

  /** Runs after the actor stopped (its children have stopped before). */
  postStop(): void | Promise<void> {}

  /** Runs on the failed instance before a restart. Default: stop all children, then `postStop`. */
  async preRestart(_reason: unknown, _message: unknown): Promise<void> {
    await Promise.all([...this.context.children].map((child) => this.context.stop(child)));
    await this.postStop();
  }

  /** Runs on the fresh instance after a restart. Default: `preStart`. */
  postRestart(_reason: unknown): void | Promise<void> {
    return this.preStart();
  }

  /**
   * The runtime calls this for each message; it dispatches to the current behavior (`become`) or
   * `receive`. Subclasses in this library (PersistentActor) wrap it; user code overrides `receive`.
   * @internal
   */
  aroundReceive(message: unknown): void | Promise<void> {
    const behavior = this.context.behavior;
    return behavior ? behavior(message) : this.receive(message as Message);
  }

  /**
   * Runs right after the factory built the instance, before actorOf returns; throwing here makes
   * actorOf throw. PersistentActor claims its persistenceId here. @internal
   */
  afterConstruct(): void {}

  /** @internal Runs `preStart`; PersistentActor wraps it to start recovery. */
  aroundPreStart(): void | Promise<void> {
    return this.preStart();
  }

  /** @internal */
  aroundPostStop(): void | Promise<void> {
    return this.postStop();
  }

  /** @internal */
  aroundPreRestart(reason: unknown, message: unknown): void | Promise<void> {
    return this.preRestart(reason, message);
  }

  /** @internal */
  aroundPostRestart(reason: unknown): void | Promise<void> {
    return this.postRestart(reason);
  }
}

/** How actors are made: a factory, called again for every restart. */
export type ActorFactory<A extends Actor = Actor> = () => A;

/**
 * The messages an actor accepts, read from its `receive` (for `Actor<M>`: `M`; for
 * `PersistentActor<Command, Event>` and the actors built on it: `Command`). `unknown` for an actor
 * that takes anything.
 */
export type MessageOf<A extends Actor> = A extends { receive(message: infer Message): unknown } ? Message : unknown;
