import type { PersistenceReply } from '../src/persistence/persistent-actor.js';
import type { RecoveryCompleted, SnapshotOffer } from '../src/persistence/protocol.js';
import { dispatchCommand, dispatchRecover, installReceiveStyle, type ReceiveStyle } from '../src/persistence/receive-handlers.js';
import { AtLeastOnceDeliveryActor, type AtLeastOnceDeliveryOptions } from './at-least-once-delivery-actor.js';
import type { DeliveryNotice } from './messages.js';

// The registration methods (command, commandAny, recover, recoverAny, become) and their types; the
// implementations are put on the prototype by installReceiveStyle below.
export interface AtLeastOnceDeliveryReceiveActor<Command = unknown, Event = unknown> extends ReceiveStyle<Command, Event> {}

/**
 * An AtLeastOnceDeliveryActor configured with typed handlers (the seeds'
 * `AtLeastOnceDeliveryReceiveActor`): `command`, `commandAny`, `recover`, `recoverAny` and `become`
 * mean exactly what they mean on `ReceivePersistentActor` (the same code); `deliver` and
 * `confirmDelivery` are those of `AtLeastOnceDeliveryActor`. Confirmations arrive as
 * `DeliveryConfirmed` commands: `this.command(DeliveryConfirmed, (c) => this.persist(...))`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above declares what installReceiveStyle puts on the prototype
export abstract class AtLeastOnceDeliveryReceiveActor<Command = unknown, Event = unknown> extends AtLeastOnceDeliveryActor<Command, Event> {
  constructor(options: AtLeastOnceDeliveryOptions = {}) {
    super(options);
  }

  onCommand(command: Command | PersistenceReply | DeliveryNotice): void | Promise<void> {
    return dispatchCommand(this, command);
  }

  onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void {
    dispatchRecover(this, message);
  }
}

installReceiveStyle(AtLeastOnceDeliveryReceiveActor);
