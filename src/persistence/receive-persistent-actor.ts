import type { PersistentActorSettings } from './persistence-settings.js';
import { PersistentActor, type PersistenceReply } from './persistent-actor.js';
import type { RecoveryCompleted, SnapshotOffer } from './protocol.js';
import { ReceiveHandlers, type CommandHandler, type MessageClass, type OfType, type ReceiveStyle, type RecoverHandler, type TypeName } from './receive-handlers.js';

/**
 * A PersistentActor configured with typed handlers instead of one `onCommand` (the seeds'
 * `ReceivePersistentActor`). Register them in the constructor:
 *
 * ```ts
 * this.command(UpgradeSubscription, (cmd) => ...);          // a class, matched with instanceof
 * this.command('upgrade', (cmd) => ...);                     // a `type` string, narrowed to that member
 * this.recover(SnapshotOffer, (offer) => ...);
 * this.recoverAny((event) => ...);
 * ```
 *
 * Handlers are tried in registration order and the first match wins; command handlers may be async
 * (the mailbox waits). A command no handler takes goes to dead letters with the reason `unhandled`;
 * a persistence reply (`SaveSnapshotSuccess`, ...) no handler takes is dropped with a debug line.
 */
export abstract class ReceivePersistentActor<Command = unknown, Event = unknown> extends PersistentActor<Command, Event> implements ReceiveStyle<Command, Event> {
  readonly #handlers = new ReceiveHandlers();

  constructor(options: PersistentActorSettings = {}) {
    super(options);
  }

  command<T>(type: MessageClass<T>, handler: CommandHandler<T>, predicate?: (command: T) => boolean): void;
  command<Name extends TypeName<Command>>(type: Name, handler: CommandHandler<OfType<Command, Name>>, predicate?: (command: OfType<Command, Name>) => boolean): void;
  command(type: MessageClass<unknown> | string, handler: (command: never) => unknown, predicate?: (command: never) => boolean): void {
    this.#handlers.addCommand(type, handler, predicate);
  }

  commandAny(handler: CommandHandler<unknown>): void {
    this.#handlers.addCommandAny(handler);
  }

  recover<T>(type: MessageClass<T>, handler: RecoverHandler<T>, predicate?: (message: T) => boolean): void;
  recover<Name extends TypeName<Event>>(type: Name, handler: RecoverHandler<OfType<Event, Name>>, predicate?: (event: OfType<Event, Name>) => boolean): void;
  recover(type: MessageClass<unknown> | string, handler: (message: never) => void, predicate?: (message: never) => boolean): void {
    this.#handlers.addRecover(type, handler, predicate);
  }

  recoverAny(handler: RecoverHandler<Event | SnapshotOffer | RecoveryCompleted>): void {
    this.#handlers.addRecoverAny(handler);
  }

  become(configure: () => void): void {
    this.#handlers.become(configure);
  }

  onCommand(command: Command | PersistenceReply): void | Promise<void> {
    return this.#handlers.dispatchCommand(command, this);
  }

  onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void {
    this.#handlers.dispatchRecover(message, this);
  }
}
