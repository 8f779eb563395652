/**
 * The typed handler lists behind the receive-style actors (`ReceivePersistentActor`,
 * `AtLeastOnceDeliveryReceiveActor`, Akka's `Command<T>` / `Recover<T>`): handlers registered per
 * class (matched with `instanceof`) or per `type` string, each with an optional predicate, tried in
 * registration order, the first match wins.
 *
 * The two actor bases extend different classes (TypeScript has no multiple inheritance), so the
 * registration methods are written once here and put on both prototypes by `installReceiveStyle`; each
 * class declares their types by merging the `ReceiveStyle` interface. They cannot drift apart.
 */
import type { Logger } from 'pino';
import type { ActorRef } from '../actor/actor-ref.js';
import type { ActorSystem } from '../actor/actor-system.js';
import * as protocol from './protocol.js';
import { isThenable } from './write-pipeline.js';

/** A class whose instances a handler takes (any class: abstract, or with a private constructor like RecoveryCompleted). */
export interface MessageClass<T> {
  readonly prototype: T;
  [Symbol.hasInstance](value: unknown): boolean;
}

/** The `type` strings of a union of `{ type: '...' }` objects. */
export type TypeName<Union> = Union extends { readonly type: infer Name extends string } ? Name : never;

/** The member of `Union` whose `type` is `Name`. */
export type OfType<Union, Name extends string> = Extract<Union, { readonly type: Name }>;

/** May return a promise: the mailbox then waits for it, as for `onCommand`. Other results are ignored. */
export type CommandHandler<T> = (command: T) => unknown;
export type RecoverHandler<T> = (message: T) => unknown;

/** What the two receive-style bases expose; the same names, the same meaning. */
export interface ReceiveStyle<Command, Event> {
  command<T>(type: MessageClass<T>, handler: CommandHandler<T>, predicate?: (command: T) => boolean): void;
  command<Name extends TypeName<Command>>(type: Name, handler: CommandHandler<OfType<Command, Name>>, predicate?: (command: OfType<Command, Name>) => boolean): void;
  commandAny(handler: CommandHandler<unknown>): void;
  recover<T>(type: MessageClass<T>, handler: RecoverHandler<T>, predicate?: (message: T) => boolean): void;
  recover<Name extends TypeName<Event>>(type: Name, handler: RecoverHandler<OfType<Event, Name>>, predicate?: (event: OfType<Event, Name>) => boolean): void;
  recoverAny(handler: RecoverHandler<Event | protocol.SnapshotOffer | protocol.RecoveryCompleted>): void;
  become(configure: () => void): void;
}

interface Entry {
  readonly matches: (message: unknown) => boolean;
  readonly handler: (message: unknown) => unknown;
}

const PERSISTENCE_REPLIES: readonly MessageClass<unknown>[] = [
  protocol.SaveSnapshotSuccess,
  protocol.SaveSnapshotFailure,
  protocol.DeleteSnapshotSuccess,
  protocol.DeleteSnapshotFailure,
  protocol.DeleteSnapshotsSuccess,
  protocol.DeleteSnapshotsFailure,
  protocol.DeleteMessagesSuccess,
  protocol.DeleteMessagesFailure,
  protocol.LoadSnapshotResult,
  protocol.LoadSnapshotFailed,
];

export function isPersistenceReply(message: unknown): boolean {
  return PERSISTENCE_REPLIES.some((type) => type[Symbol.hasInstance](message));
}

function matcher(type: MessageClass<unknown> | string, predicate: ((message: never) => boolean) | undefined): (message: unknown) => boolean {
  const test = predicate as ((message: unknown) => boolean) | undefined;
  if (typeof type === 'string') {
    return (message) => typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type && (test === undefined || test(message));
  }
  return (message) => type[Symbol.hasInstance](message) && (test === undefined || test(message));
}

function describe(message: unknown): string {
  if (message === null || typeof message !== 'object') return typeof message;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? `{ type: ${JSON.stringify(type)} }` : message.constructor.name;
}

/** What the registry needs of its actor to report what no handler took. */
export interface ReceiveHost {
  readonly context: { readonly system: ActorSystem };
  readonly self: ActorRef;
  readonly sender: ActorRef | undefined;
  readonly log: Logger;
}

export class ReceiveHandlers {
  #commands: Entry[] = [];
  readonly #recovery: Entry[] = [];
  /** While `become` configures, new command handlers go to a fresh list that replaces the old one after. */
  #configuring: Entry[] | undefined;
  readonly #unhandledEventTypes = new Set<string>();

  addCommand(type: MessageClass<unknown> | string, handler: (message: never) => unknown, predicate?: (message: never) => boolean): void {
    (this.#configuring ?? this.#commands).push({ matches: matcher(type, predicate), handler: handler as (message: unknown) => unknown });
  }

  addCommandAny(handler: (message: never) => unknown): void {
    (this.#configuring ?? this.#commands).push({ matches: () => true, handler: handler as (message: unknown) => unknown });
  }

  addRecover(type: MessageClass<unknown> | string, handler: (message: never) => void, predicate?: (message: never) => boolean): void {
    this.#recovery.push({ matches: matcher(type, predicate), handler: handler as (message: unknown) => unknown });
  }

  addRecoverAny(handler: (message: never) => void): void {
    this.#recovery.push({ matches: () => true, handler: handler as (message: unknown) => unknown });
  }

  /** Replaces the command handlers with the ones `configure` registers (Akka's Become); recovery handlers stay. */
  become(configure: () => void): void {
    const fresh: Entry[] = [];
    const outer = this.#configuring;
    this.#configuring = fresh;
    try {
      configure();
    } finally {
      this.#configuring = outer;
    }
    this.#commands = fresh;
  }

  /**
   * Hands `command` to the first matching handler. A command no handler takes is unhandled: dead
   * letters with the reason `unhandled` (as Akka), the actor goes on; a persistence reply nobody asked
   * to handle is only logged at debug level (it is an answer, not a message someone sent).
   */
  dispatchCommand(command: unknown, host: ReceiveHost): void | Promise<void> {
    for (const entry of this.#commands) {
      if (entry.matches(command)) {
        const result = entry.handler(command);
        return isThenable(result) ? (result as Promise<void>) : undefined;
      }
    }
    if (isPersistenceReply(command)) {
      host.log.debug({ reply: describe(command) }, 'persistence reply not handled; dropped');
      return;
    }
    host.context.system.publishDeadLetter(command, host.sender, host.self.path, 'unhandled');
  }

  /** Hands a replayed event, SnapshotOffer or RecoveryCompleted to the first matching recovery handler. */
  dispatchRecover(message: unknown, host: ReceiveHost): void {
    for (const entry of this.#recovery) {
      if (entry.matches(message)) {
        entry.handler(message);
        return;
      }
    }
    if (message instanceof protocol.RecoveryCompleted) return;
    // Without a handler the state misses what this event says: worth one warning per type.
    const type = describe(message);
    if (this.#unhandledEventTypes.has(type)) return;
    this.#unhandledEventTypes.add(type);
    host.log.warn(
      { message: type },
      message instanceof protocol.SnapshotOffer
        ? 'no recover handler takes the SnapshotOffer; the snapshot is ignored'
        : 'no recover handler takes this event; it is skipped (logged once per type)',
    );
  }
}

const HANDLERS = Symbol('steadfast.receiveHandlers');

interface WithHandlers {
  [HANDLERS]?: ReceiveHandlers;
}

function handlersOf(actor: object): ReceiveHandlers {
  const holder = actor as WithHandlers;
  holder[HANDLERS] ??= new ReceiveHandlers();
  return holder[HANDLERS];
}

/** `onCommand` of a receive-style actor. */
export function dispatchCommand(actor: ReceiveHost, command: unknown): void | Promise<void> {
  return handlersOf(actor).dispatchCommand(command, actor);
}

/** `onRecover` of a receive-style actor. */
export function dispatchRecover(actor: ReceiveHost, message: unknown): void {
  handlersOf(actor).dispatchRecover(message, actor);
}

type Registration = (this: object, ...args: never[]) => void;

const REGISTRATION: Readonly<Record<keyof ReceiveStyle<unknown, unknown>, Registration>> = {
  command(this: object, type: MessageClass<unknown> | string, handler: (command: never) => unknown, predicate?: (command: never) => boolean) {
    handlersOf(this).addCommand(type, handler, predicate);
  },
  commandAny(this: object, handler: (command: never) => unknown) {
    handlersOf(this).addCommandAny(handler);
  },
  recover(this: object, type: MessageClass<unknown> | string, handler: (message: never) => void, predicate?: (message: never) => boolean) {
    handlersOf(this).addRecover(type, handler, predicate);
  },
  recoverAny(this: object, handler: (message: never) => void) {
    handlersOf(this).addRecoverAny(handler);
  },
  become(this: object, configure: () => void) {
    handlersOf(this).become(configure);
  },
};

/** Puts the registration methods on `actorClass`'s prototype (non-enumerable, like class methods). */
export function installReceiveStyle(actorClass: abstract new (...args: never[]) => object): void {
  for (const [name, method] of Object.entries(REGISTRATION)) {
    Object.defineProperty(actorClass.prototype, name, { value: method, writable: true, configurable: true, enumerable: false });
  }
}
