import type { ActorRef, InternalActorRef } from './actor-ref.js';
import type { ActorSystem } from './actor-system.js';
import { AskTimeoutError, SteadfastError } from './errors.js';
import { StatusFailure } from './messages.js';

let askCounter = 0;

/**
 * The one-shot sender of an ask: settles the promise on the first reply; a reply after that (or after
 * the timeout) goes to dead letters, so nothing disappears silently. A class with its path built on
 * demand, because every ask on a hot path (an outbox send, a message to an entity) makes one.
 */
class AskRef<Reply> implements InternalActorRef {
  #settled = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly system: ActorSystem,
    private readonly id: number,
    private readonly resolve: (reply: Reply) => void,
    private readonly reject: (error: unknown) => void,
    target: ActorRef,
    timeoutMs: number,
  ) {
    this.#timer = setTimeout(() => {
      if (this.#settled) return;
      this.#settled = true;
      reject(new AskTimeoutError(target.path, timeoutMs));
    }, timeoutMs);
  }

  get path(): string {
    return `/temp/${this.name}`;
  }

  get name(): string {
    return `ask-${this.id}`;
  }

  get isTerminated(): boolean {
    return this.#settled;
  }

  tell(reply: unknown, sender?: ActorRef): void {
    this.deliver(reply, sender);
  }

  deliver(reply: unknown, sender: ActorRef | undefined): void {
    if (this.#settled) {
      this.system.publishDeadLetter(reply, sender, this.path, 'reply arrived after the ask had settled');
      return;
    }
    this.#settled = true;
    clearTimeout(this.#timer);
    if (reply instanceof StatusFailure) this.reject(reply.cause);
    else if (reply instanceof Error) this.reject(reply);
    else this.resolve(reply as Reply);
  }

  ask(): Promise<never> {
    return Promise.reject(new SteadfastError('ERR_UNSUPPORTED', 'a temporary ask ref cannot be asked'));
  }
}

/** Sends `message` with a one-shot temporary ref as sender and settles on the first reply. */
export function ask<Reply>(system: ActorSystem, target: ActorRef, message: unknown, timeoutMs: number): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    target.tell(message, new AskRef<Reply>(system, ++askCounter, resolve, reject, target, timeoutMs));
  });
}
