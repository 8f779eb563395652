import type { ActorRef } from './actor-ref.js';

export interface Envelope {
  readonly message: unknown;
  readonly sender: ActorRef | undefined;
}

/**
 * An unbounded FIFO of (message, sender) pairs. Two parallel arrays with a moving head avoid one
 * allocation per message on the hot path; the arrays are compacted once the consumed prefix dominates.
 */
export class Mailbox {
  #messages: unknown[] = [];
  #senders: (ActorRef | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#messages.length - this.#head;
  }

  get isEmpty(): boolean {
    return this.#head === this.#messages.length;
  }

  enqueue(message: unknown, sender: ActorRef | undefined): void {
    this.#messages.push(message);
    this.#senders.push(sender);
  }

  /** Puts envelopes back in front of everything queued, keeping their order (used by unstash). */
  prepend(envelopes: readonly Envelope[]): void {
    if (envelopes.length === 0) return;
    const messages = envelopes.map((envelope) => envelope.message);
    const senders = envelopes.map((envelope) => envelope.sender);
    this.#messages = messages.concat(this.#messages.slice(this.#head));
    this.#senders = senders.concat(this.#senders.slice(this.#head));
    this.#head = 0;
  }

  /** Message at the head; call `senderOfHead` before `dequeue` when the sender is needed. */
  peekMessage(): unknown {
    return this.#messages[this.#head];
  }

  senderOfHead(): ActorRef | undefined {
    return this.#senders[this.#head];
  }

  dequeue(): void {
    const head = this.#head;
    this.#messages[head] = undefined;
    this.#senders[head] = undefined;
    this.#head = head + 1;
    if (this.#head === this.#messages.length) {
      this.#messages.length = 0;
      this.#senders.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
      this.#messages = this.#messages.slice(this.#head);
      this.#senders = this.#senders.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Empties the mailbox, returning what was in it (e.g. to hand it to dead letters). */
  drain(): Envelope[] {
    const drained: Envelope[] = [];
    for (let i = this.#head; i < this.#messages.length; i++) {
      drained.push({ message: this.#messages[i], sender: this.#senders[i] });
    }
    this.#messages = [];
    this.#senders = [];
    this.#head = 0;
    return drained;
  }
}
