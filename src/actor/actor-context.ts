import type { Logger } from 'pino';
import type { Actor, ActorFactory, MessageOf } from './actor.js';
import type { ActorRef } from './actor-ref.js';
import type { ActorSystem } from './actor-system.js';
import type { TimerScheduler } from './timers.js';

export type Behavior = (message: unknown) => void | Promise<void>;

/** What an actor can do besides handling its message (Akka's ActorContext). */
export interface ActorContext {
  readonly self: ActorRef;
  /** The sender of the message being handled; dead letters when there is none. */
  readonly sender: ActorRef;
  readonly parent: ActorRef;
  readonly system: ActorSystem;
  readonly children: Iterable<ActorRef>;
  /** A pino logger whose lines carry this actor's path. */
  readonly log: Logger;
  readonly timers: TimerScheduler;
  /** The behavior installed by `become`, if any. */
  readonly behavior: Behavior | undefined;

  /** Creates a child; the ref accepts the child's messages (`MessageOf<A>`). */
  actorOf<A extends Actor>(factory: ActorFactory<A>, name?: string): ActorRef<MessageOf<A>>;
  child(name: string): ActorRef | undefined;
  /** Stops self or a child; resolves once it (and its children) stopped. */
  stop(ref: ActorRef): Promise<void>;
  /** Delivers `Terminated(ref)` when `ref` stops (at once, if it already has). */
  watch<R extends ActorRef>(ref: R): R;
  unwatch(ref: ActorRef): void;
  /** Puts the message being handled aside (with its sender) until `unstashAll`. */
  stash(): void;
  /** Puts every stashed message back in front of the mailbox, oldest first. */
  unstashAll(): void;
  readonly stashSize: number;
  /** Handles the following messages with `behavior` instead of `receive`. */
  become(behavior: Behavior, discardOld?: boolean): void;
  unbecome(): void;
}
