/**
 * A handle to an actor. Refs are cheap, safe to keep after the actor stopped (messages then go to dead
 * letters, never throw), and compare by identity of the incarnation they point to.
 */
export interface ActorRef<Message = unknown> {
  /** e.g. `/user/orders/order-17`; stable across restarts (a restart keeps the same ref). */
  readonly path: string;
  /** The last element of the path. */
  readonly name: string;
  /** Sends without waiting. `sender` defaults to none: a reply then goes to dead letters. */
  tell(message: Message, sender?: ActorRef): void;
  /**
   * Sends and waits for one reply. Rejects with AskTimeoutError after `timeoutMs` (default: the
   * system's `askTimeoutMs`), and with the error when the reply is an Error or a StatusFailure.
   */
  ask<Reply = unknown>(message: Message, timeoutMs?: number): Promise<Reply>;
  /** True once the actor behind this ref has stopped for good. */
  readonly isTerminated: boolean;
}

/** The parts of a ref the runtime uses to deliver; not part of the public API. */
export interface InternalActorRef<Message = unknown> extends ActorRef<Message> {
  /** @internal */
  deliver(message: unknown, sender: ActorRef | undefined): void;
}

export function isActorRef(value: unknown): value is ActorRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ActorRef).tell === 'function' &&
    typeof (value as ActorRef).path === 'string'
  );
}
