import type { ActorRef } from './actor-ref.js';

/** Sent to every watcher of an actor once that actor has stopped (see `context.watch`). */
export class Terminated {
  constructor(readonly actor: ActorRef) {}
}

/** Stops the receiving actor once the messages before it were handled. */
export class PoisonPill {
  static readonly instance = new PoisonPill();
  private constructor() {}
}

/** A reply that reports a failure: `ask` rejects with `cause` (replying with an `Error` does the same). */
export class StatusFailure {
  constructor(readonly cause: Error) {}
}

/** A message that could not be delivered: its recipient had stopped, or never existed. */
export class DeadLetter {
  constructor(
    readonly message: unknown,
    readonly sender: ActorRef | undefined,
    readonly recipient: string,
    /** Why it was not delivered, e.g. "recipient stopped" or "stash overflow". */
    readonly reason: string,
  ) {}
}

/** A message's class name (or type) for log lines: enough to tell what it was without logging its contents. */
export function describeMessage(message: unknown): string {
  if (message === null || message === undefined) return String(message);
  if (typeof message === 'object') return (message as object).constructor?.name ?? 'Object';
  return typeof message;
}
