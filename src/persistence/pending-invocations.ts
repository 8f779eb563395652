import type { ActorRef } from '../actor/actor-ref.js';
import type { SerializedValue } from './serialized-value.js';

const ignore = (): void => {};

/** The promise a `persist*` / `defer*` call returned: settles once all of its invocations ran. */
export class InvocationGroup {
  remaining = 0;
  readonly promise: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  completeOne(): void {
    if (--this.remaining === 0) this.#resolve();
  }

  fail(error: unknown): void {
    this.remaining = -1;
    // Callers may ignore the promise (fire-and-forget persist); an abandoned group must not surface
    // as an unhandled rejection. Callers that await it still see the rejection. Attached only here,
    // so the common (successful) path costs one promise, not two.
    this.promise.catch(ignore);
    this.#reject(error);
  }
}

export type InvocationStatus = 'pending' | 'written' | 'rejected' | 'failed';

/**
 * One handler waiting to run: for a persisted event (runs once the journal answered) or a deferred
 * value (runs once everything before it ran). They run strictly in the order they were created.
 * A class, so every invocation has the same shape (the write path creates one per event).
 */
export class Invocation {
  /** For events: the sequence number, given when the write goes out; for defers: 0. */
  sequenceNr = 0;
  cause: Error | undefined = undefined;

  constructor(
    readonly kind: 'event' | 'defer',
    readonly value: unknown,
    readonly handler: (value: never) => void | Promise<void>,
    readonly stashing: boolean,
    readonly sender: ActorRef | undefined,
    /** The persist / defer call this belongs to: its events form one atomic write. */
    readonly group: InvocationGroup,
    public status: InvocationStatus,
    /** For events: what is written (adapted and serialized when persist was called). */
    readonly serialized: SerializedValue | undefined,
    readonly tags: readonly string[],
  ) {}
}

/** FIFO of invocations with O(1) push and shift. */
export class InvocationQueue {
  #items: Invocation[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(invocation: Invocation): void {
    this.#items.push(invocation);
  }

  peek(): Invocation | undefined {
    return this.#items[this.#head];
  }

  shift(): Invocation | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#items[this.#head] = undefined as unknown as Invocation;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }

  /** Empties the queue (the actor stops or restarts). */
  drain(): Invocation[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
