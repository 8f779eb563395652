import type { ActorCell } from './actor-cell.js';
import { terminate } from './termination.js';

/**
 * Lifecycle hooks (preStart, preRestart, postRestart) run while the cell holds its mailbox, so that no
 * message is handled before an async hook settled. One that fails stops the actor: as in Akka, an actor
 * that cannot start (or restart) is stopped rather than restarted in a loop.
 */

/** A receive or hook that returned a promise (or any thenable): the mailbox waits until it settled. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Runs preStart; the first message is handled once it settled. */
export function start(cell: ActorCell): void {
  runHook(
    cell,
    () => cell.actor.aroundPreStart(),
    () => becomeRunning(cell),
    'preStart',
  );
}

/** Runs a possibly-async lifecycle step while holding the mailbox; a failure counts as the actor's. */
export function runHook(cell: ActorCell, step: () => void | Promise<void>, then: () => void, hookName: string): void {
  cell.busy = true;
  let result: void | Promise<void>;
  try {
    result = step();
  } catch (error) {
    cell.busy = false;
    failInLifecycle(cell, error, hookName);
    return;
  }
  if (isThenable(result)) {
    result.then(
      () => {
        cell.busy = false;
        then();
      },
      (error: unknown) => {
        cell.busy = false;
        failInLifecycle(cell, error, hookName);
      },
    );
  } else {
    cell.busy = false;
    then();
  }
}

/** A start or restart completed: handle messages. */
export function becomeRunning(cell: ActorCell): void {
  if (cell.state === 'starting' || cell.state === 'suspended') cell.state = 'running';
  cell.afterMessage();
}

/** A lifecycle hook (or the factory) failed. */
export function failInLifecycle(cell: ActorCell, error: unknown, hookName: string): void {
  cell.log.error({ err: error }, `${hookName} failed; stopping ${cell.path}`);
  void terminate(cell);
}
