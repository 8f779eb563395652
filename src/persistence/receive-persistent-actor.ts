import type { PersistentActorSettings } from './persistence-settings.js';
import { PersistentActor, type PersistenceReply } from './persistent-actor.js';
import type { RecoveryCompleted, SnapshotOffer } from './protocol.js';
import { dispatchCommand, dispatchRecover, installReceiveStyle, type ReceiveStyle } from './receive-handlers.js';

// The registration methods (command, commandAny, recover, recoverAny, become) and their types; the
// implementations are put on the prototype by installReceiveStyle below.
export interface ReceivePersistentActor<Command = unknown, Event = unknown> extends ReceiveStyle<Command, Event> {}

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
 * `become(() => { this.command(...) })` replaces the command handlers; recovery handlers stay.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above declares what installReceiveStyle puts on the prototype
export abstract class ReceivePersistentActor<Command = unknown, Event = unknown> extends PersistentActor<Command, Event> {
  constructor(options: PersistentActorSettings = {}) {
    super(options);
  }

  onCommand(command: Command | PersistenceReply): void | Promise<void> {
    return dispatchCommand(this, command);
  }

  onRecover(message: Event | SnapshotOffer | RecoveryCompleted): void {
    dispatchRecover(this, message);
  }
}

installReceiveStyle(ReceivePersistentActor);
