import type { ActorRef } from './actor-ref.js';
import { LocalActorRef } from './local-actor-ref.js';
import { Terminated } from './messages.js';

/**
 * Death watch (`context.watch`): `Terminated(ref)` reaches a watcher once `ref` stopped. Both sides keep
 * a set: the watched cell its watchers, to tell them; the watcher what it watches, so that a notice after
 * `unwatch` is dropped and so that it can unregister from everything it watches when it stops first.
 */

/** The part of a cell death watch works on: its two sets, which only this module reads or writes. @internal */
export interface WatchingCell {
  readonly self: ActorRef;
  readonly isTerminated: boolean;
  deliver(message: unknown, sender: ActorRef | undefined): void;
  /** The cells to tell when this one has stopped. @internal */
  watchers: Set<WatchingCell> | undefined;
  /** The refs this cell watches and whose Terminated it still wants. @internal */
  watching: Set<ActorRef> | undefined;
}

/**
 * Terminated notices that were let through once (their watch consumed). One that was stashed and comes
 * back by unstash has no watch left to consume, yet it is wanted; weak, so notices are not kept alive.
 */
const acceptedTerminations = new WeakSet<Terminated>();

export function watch(watcher: WatchingCell, ref: ActorRef): void {
  if (ref === watcher.self) return;
  watcher.watching ??= new Set();
  watcher.watching.add(ref);
  const target = ref instanceof LocalActorRef ? ref.cell : undefined;
  if (!target || target.isTerminated) watcher.deliver(new Terminated(ref), undefined);
  else {
    target.watchers ??= new Set();
    target.watchers.add(watcher);
  }
}

export function unwatch(watcher: WatchingCell, ref: ActorRef): void {
  watcher.watching?.delete(ref);
  if (ref instanceof LocalActorRef) ref.cell.watchers?.delete(watcher);
}

/** Whether a dequeued Terminated is still wanted: not after `unwatch`, nor for a ref never watched. */
export function wantsTerminated(watcher: WatchingCell, notice: Terminated): boolean {
  if (watcher.watching?.delete(notice.actor)) {
    acceptedTerminations.add(notice);
    return true;
  }
  return acceptedTerminations.has(notice);
}

/** `stopped` has stopped: its watchers get Terminated, and it stops watching others. */
export function notifyWatchers(stopped: WatchingCell): void {
  for (const watcher of stopped.watchers ?? []) watcher.deliver(new Terminated(stopped.self), undefined);
  stopped.watchers = undefined;
  for (const watched of stopped.watching ?? []) {
    if (watched instanceof LocalActorRef) watched.cell.watchers?.delete(stopped);
  }
  stopped.watching = undefined;
}
