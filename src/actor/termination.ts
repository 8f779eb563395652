import type { ActorCell } from './actor-cell.js';
import { notifyWatchers } from './death-watch.js';
import type { Envelope } from './mailbox.js';
import { PoisonPill, Terminated } from './messages.js';
import { TimerFired } from './timers.js';

/**
 * Stopping an actor, after the message being handled: its children stop first, then its postStop runs;
 * then what is left in its mailbox and stash becomes dead letters, its name is free again in the parent,
 * and its watchers get Terminated. The promise of `stopSelf` resolves after all of that.
 */

/** Stops `cell` after the message being handled; resolves once it (and its children) stopped. */
export function stopSelf(cell: ActorCell): Promise<void> {
  const terminated = whenTerminated(cell);
  if (cell.state === 'stopped' || cell.state === 'stopping') return terminated;
  cell.stopRequested = true;
  if (!cell.busy) void terminate(cell);
  return terminated;
}

/** Stops `cell` now. Callers make sure no message is being handled: stopSelf and PoisonPill wait for it by `stopRequested`. */
export async function terminate(cell: ActorCell): Promise<void> {
  if (cell.state === 'stopping' || cell.state === 'stopped') return;
  whenTerminated(cell);
  const wasStarted = cell.state !== 'starting';
  cell.state = 'stopping';
  // Held for good: a stopping actor handles no message again, not even one that arrives meanwhile.
  cell.busy = true;
  cell.cancelTimers();
  await cell.childContainer?.stopAll();
  if (wasStarted) {
    try {
      await cell.actor.aroundPostStop();
    } catch (error) {
      cell.log.error({ err: error }, 'postStop failed');
    }
  }
  cell.state = 'stopped';
  for (const envelope of cell.takeLeftovers()) dropToDeadLetters(cell, envelope);
  cell.parentCell?.childContainer?.remove(cell);
  notifyWatchers(cell);
  cell.resolveTerminated?.();
}

/** Made on the first stop request, so that every later one gets the same promise. */
function whenTerminated(cell: ActorCell): Promise<void> {
  cell.terminated ??= new Promise<void>((resolve) => {
    cell.resolveTerminated = resolve;
  });
  return cell.terminated;
}

function dropToDeadLetters(cell: ActorCell, envelope: Envelope): void {
  // Runtime notices are not lost user messages: a stopping parent is bound to get its children's
  // Terminated, and reporting those would bury real dead letters in shutdown noise.
  if (envelope.message instanceof TimerFired || envelope.message === PoisonPill.instance || envelope.message instanceof Terminated) return;
  cell.system.publishDeadLetter(envelope.message, envelope.sender, cell.path, 'recipient stopped');
}
