import type { Logger } from 'pino';
import type { ActorRef, InternalActorRef } from './actor-ref.js';
import { DeadLetter, describeMessage } from './messages.js';
import { SteadfastError } from './errors.js';

export type DeadLetterListener = (deadLetter: DeadLetter) => void;

/**
 * Where undeliverable messages end up: counted, handed to listeners (tests and metrics), and logged at
 * a bounded rate (a flood of dead letters must not turn into a flood of log lines).
 */
export class DeadLetterOffice {
  #count = 0;
  #listeners = new Set<DeadLetterListener>();
  #windowStart = 0;
  #loggedInWindow = 0;
  #suppressedInWindow = 0;
  readonly ref: InternalActorRef;

  constructor(
    private readonly logger: Logger,
    private readonly logLimitPerWindow: number,
    private readonly windowMs: number,
  ) {
    const office = this;
    this.ref = {
      path: '/deadLetters',
      name: 'deadLetters',
      isTerminated: false,
      tell(message: unknown, sender?: ActorRef) {
        office.publish(message instanceof DeadLetter ? message : new DeadLetter(message, sender, '/deadLetters', 'sent to dead letters'));
      },
      deliver(message: unknown, sender: ActorRef | undefined) {
        this.tell(message, sender);
      },
      ask<Reply>(message: unknown): Promise<Reply> {
        office.publish(new DeadLetter(message, undefined, '/deadLetters', 'asked dead letters'));
        return Promise.reject(new SteadfastError('ERR_UNSUPPORTED', 'dead letters never reply'));
      },
      toJSON() {
        return '/deadLetters';
      },
    } as InternalActorRef & { toJSON(): string };
  }

  get count(): number {
    return this.#count;
  }

  subscribe(listener: DeadLetterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(deadLetter: DeadLetter): void {
    this.#count++;
    for (const listener of this.#listeners) {
      try {
        listener(deadLetter);
      } catch (error) {
        this.logger.error({ err: error }, 'dead letter listener threw');
      }
    }
    this.#log(deadLetter);
  }

  #log(deadLetter: DeadLetter): void {
    const now = performance.now();
    if (now - this.#windowStart > this.windowMs) {
      if (this.#suppressedInWindow > 0) {
        this.logger.info({ suppressed: this.#suppressedInWindow }, `${this.#suppressedInWindow} more dead letters were not logged`);
      }
      this.#windowStart = now;
      this.#loggedInWindow = 0;
      this.#suppressedInWindow = 0;
    }
    if (this.#loggedInWindow >= this.logLimitPerWindow) {
      this.#suppressedInWindow++;
      return;
    }
    this.#loggedInWindow++;
    this.logger.info(
      {
        recipient: deadLetter.recipient,
        sender: deadLetter.sender?.path,
        messageType: describeMessage(deadLetter.message),
        reason: deadLetter.reason,
      },
      'dead letter',
    );
  }
}
