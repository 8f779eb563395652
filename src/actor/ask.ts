import type { ActorRef, InternalActorRef } from './actor-ref.js';
import type { ActorSystem } from './actor-system.js';
import { AskTimeoutError } from './errors.js';
import { StatusFailure } from './messages.js';

let askCounter = 0;

/**
 * Sends `message` with a one-shot temporary ref as sender and settles on the first reply. A reply
 * after the timeout (or a second reply) goes to dead letters, so nothing disappears silently.
 */
export function ask<Reply>(system: ActorSystem, target: ActorRef, message: unknown, timeoutMs: number): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const path = `/temp/ask-${++askCounter}`;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new AskTimeoutError(target.path, timeoutMs));
    }, timeoutMs);
    const replyTo: InternalActorRef = {
      path,
      name: path.slice('/temp/'.length),
      get isTerminated() {
        return settled;
      },
      tell(reply: unknown, sender?: ActorRef) {
        this.deliver(reply, sender);
      },
      deliver(reply: unknown, sender: ActorRef | undefined) {
        if (settled) {
          system.publishDeadLetter(reply, sender, path, 'reply arrived after the ask had settled');
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (reply instanceof StatusFailure) reject(reply.cause);
        else if (reply instanceof Error) reject(reply);
        else resolve(reply as Reply);
      },
      ask() {
        return Promise.reject(new Error('a temporary ask ref cannot be asked'));
      },
    };
    target.tell(message, replyTo);
  });
}
