import type { ActorCell } from './actor-cell.js';
import { constructWith } from './construction.js';
import { becomeRunning, failInLifecycle, runHook } from './lifecycle.js';
import { describeMessage } from './messages.js';
import { decideForChild } from './supervisor.js';
import { terminate } from './termination.js';

/**
 * What happens when an actor fails: it is suspended (its mailbox waits), its parent's strategy decides,
 * and the directive is carried out: resume, restart, stop, or escalate (the parent fails in turn).
 * A failure that shows up while a message or a lifecycle hook is being handled waits until that settled:
 * acting at once would run a restarted instance's handlers next to the pending one.
 */

/** A failure of `cell` detected outside `receive` (e.g. in a persist handler that ran when the journal answered). */
export function reportFailure(cell: ActorCell, error: unknown): void {
  if (cell.busy) {
    cell.deferredFailure ??= { error };
    return;
  }
  fail(cell, error, cell.currentMessage);
}

/** The actor failed handling `message`: suspend it and let its parent decide. */
export function fail(cell: ActorCell, error: unknown, message: unknown): void {
  cell.deferredFailure = undefined;
  if (cell.state === 'stopping' || cell.state === 'stopped') return;
  if (cell.state === 'suspended') return;
  cell.state = 'suspended';
  cell.log.error({ err: error, messageType: describeMessage(message) }, 'actor failed while handling a message; the message is dropped');
  if (cell.stopRequested) {
    void terminate(cell);
    return;
  }
  const parent = cell.parentCell;
  if (!parent) {
    void terminate(cell);
    return;
  }
  supervise(parent, cell, error, message);
}

/** The parent's strategy decides for the failed child (supervisor.ts), and the directive is carried out. */
function supervise(parent: ActorCell, child: ActorCell, error: unknown, message: unknown): void {
  const directive = decideForChild(parent, child, error);
  switch (directive) {
    case 'resume':
      resume(child);
      return;
    case 'restart':
      restart(child, error, message);
      return;
    case 'stop':
      void child.stopSelf();
      return;
    case 'escalate':
      if (!parent.parentCell) {
        parent.log.error({ err: error }, `failure of ${child.path} escalated to the top; stopping it`);
        void child.stopSelf();
        return;
      }
      // The parent may be inside an async receive (or preStart): like reportFailure, fail it once that
      // settled, or a restart would run a second handler next to the pending one.
      if (parent.busy && (parent.state === 'running' || parent.state === 'starting')) {
        parent.deferredFailure ??= { error };
        return;
      }
      fail(parent, error, undefined);
      return;
  }
}

/** The failed instance goes on, with its state; a suspended child (one whose failure it escalated) too. */
function resume(cell: ActorCell): void {
  if (cell.state !== 'suspended') return;
  cell.state = 'running';
  for (const child of cell.childContainer?.cells() ?? []) resume(child);
  cell.afterMessage();
}

/** Senders notice nothing: the cell (ref and mailbox) stays; the instance is replaced, its timers and `become` go, its stash is put back. */
function restart(cell: ActorCell, reason: unknown, message: unknown): void {
  if (cell.state !== 'suspended') return;
  cell.cancelTimers();
  const failed = cell.actor;
  runHook(
    cell,
    () => failed.aroundPreRestart(reason, message),
    () => {
      cell.unstashAll();
      cell.unbecomeAll();
      try {
        cell.actor = constructWith(cell, cell.factory);
        cell.actor.afterConstruct();
      } catch (error) {
        failInLifecycle(cell, error, 'actor factory (restart)');
        return;
      }
      runHook(
        cell,
        () => cell.actor.aroundPostRestart(reason),
        () => becomeRunning(cell),
        'postRestart',
      );
    },
    'preRestart',
  );
}
