import type { PersistenceReply } from '../src/persistence/persistent-actor.js';
import type { RecoveryCompleted, SnapshotOffer } from '../src/persistence/protocol.js';
import {
  ReceiveHandlers,
  type CommandHandler,
  type MessageClass,
  type OfType,
  type ReceiveStyle,
  type RecoverHandler,
  type TypeName,
} from '../src/persistence/receive-handlers.js';
import { AtLeastOnceDeliveryActor, type AtLeastOnceDeliveryOptions } from './at-least-once-delivery-actor.js';
import type { DeliveryNotice } from './messages.js';

/**
 * An AtLeastOnceDeliveryActor configured with typed handlers (the seeds'
 * `AtLeastOnceDeliveryReceiveActor`): `command`, `commandAny`, `recover`, `recoverAny` and `become`
 * mean exactly what they mean on `ReceivePersistentActor`; `deliver` and `confirmDelivery` are those of
 * `AtLeastOnceDeliveryActor`. Confirmations arrive as `DeliveryConfirmed` commands:
 * `this.command(DeliveryConfirmed, (c) => this.persist(...))`.
 */
export abstract class AtLeastOnceDeliveryReceiveActor<Command = unknown, Event = unknown> extends AtLeastOnceDeliveryActor<Command, Event> implements ReceiveStyle<Command, Event> {
  readonly #handlers = new ReceiveHandlers();

  constructor(options: AtLeastOnceDeliveryOptions = {}) {
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

  onCommand(command: Command | PersistenceReply | DeliveryNotice): void | Promise<void> {
    return this.#handlers.dispatchCommand(command, this);
  }

  onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void {
    this.#handlers.dispatchRecover(message, this);
  }
}
