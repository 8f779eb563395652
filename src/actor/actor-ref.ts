/**
 * A handle to an actor. Refs are cheap, safe to keep after the actor stopped (messages then go to dead
 * letters, never throw), and compare by identity of the incarnation they point to.
 *
 * `Message` is what the actor accepts: `system.actorOf(() => new Counter())` returns
 * `ActorRef<MessageOf<Counter>>`, so telling it anything else does not compile.
 *
 * `ActorRef` without an argument (`ActorRef<unknown>`) is "any ref": it accepts every message, and
 * every `ActorRef<Specific>` can be passed where it is expected (a `sender`, a reply address, a
 * destination, `watch`, `stop`). That works because `tell` and `ask` are declared as methods, whose
 * parameters TypeScript compares bivariantly also under `strict`: `ActorRef<Specific>` and
 * `ActorRef<unknown>` are assignable both ways, while two unrelated specific refs (`ActorRef<Ping>`,
 * `ActorRef<Order>`) are not. We chose this over a separate `AnyActorRef` type so that the one name
 * users already write keeps meaning "a ref", and over `ActorRef<any>` so that no `any` leaks into the
 * public API. Keep them methods: as function-typed properties they would be checked contravariantly
 * and `ActorRef<Specific>` would no longer fit where an `ActorRef` is expected.
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
  return typeof value === 'object' && value !== null && typeof (value as ActorRef).tell === 'function' && typeof (value as ActorRef).path === 'string';
}
