/**
 * TestProbe: an actor a test can hold in its hand. Messages sent to `probe.ref` queue up, and the
 * test awaits them with `expectMsg` and friends; every wait has a deadline, and a failed expectation
 * says what was expected and what arrived instead (Akka's TestProbe, with promises).
 */
import { isDeepStrictEqual, inspect } from 'node:util';
import { Actor } from '../../src/actor/actor.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorSystem } from '../../src/actor/actor-system.js';
import { Terminated } from '../../src/actor/messages.js';

/** What the probe's actor received: the message and who sent it. */
interface Received {
  readonly message: unknown;
  readonly sender: ActorRef;
}

type Predicate = (message: unknown) => boolean;

/** A waiting expectation: offered each message as it arrives; returns true once it is satisfied or failed. */
interface Waiter {
  offer(received: Received): boolean;
}

/** Why an expectation failed (a plain Error: vitest prints its message and the test fails). */
export class TestProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestProbeError';
  }
}

class ProbeActor extends Actor {
  constructor(private readonly onMessage: (received: Received) => void) {
    super();
  }

  receive(message: unknown): void {
    this.onMessage({ message, sender: this.sender });
  }
}

let probeCounter = 0;

function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY });
}

export class TestProbe {
  /** The deadline of expectations called without a timeout, ms. */
  static defaultTimeoutMs = 3000;

  readonly ref: ActorRef;
  readonly #actorContext: ProbeActor['context'];
  readonly #queue: Received[] = [];
  #waiter: Waiter | undefined;
  #lastSender: ActorRef | undefined;

  /** Creates the probe's actor under `/user` (named `testProbe-N` unless a name is given). */
  static create(system: ActorSystem, name?: string): TestProbe {
    return new TestProbe(system, name ?? `testProbe-${++probeCounter}`);
  }

  private constructor(system: ActorSystem, name: string) {
    let actor: ProbeActor | undefined;
    this.ref = system.actorOf(() => {
      actor = new ProbeActor((received) => this.#arrive(received));
      return actor;
    }, name);
    // actorOf runs the factory before it returns.
    this.#actorContext = actor!.context;
  }

  /** The sender of the last message an expectation took; dead letters when it had none. */
  get lastSender(): ActorRef {
    if (!this.#lastSender) throw new TestProbeError(`${this.ref.path} has not received a message yet: no sender to use`);
    return this.#lastSender;
  }

  /** Replies to the sender of the last message taken, with the probe as sender. */
  reply(message: unknown): void {
    this.lastSender.tell(message, this.ref);
  }

  /** The next message must equal `expected` (deep strict equality) or satisfy the predicate; resolves with it. */
  expectMsg<T = unknown>(expected: T | ((message: unknown) => boolean), timeoutMs = TestProbe.defaultTimeoutMs): Promise<T> {
    const isPredicate = typeof expected === 'function';
    const matches: Predicate = isPredicate ? (expected as Predicate) : (message) => isDeepStrictEqual(message, expected);
    const what = isPredicate ? `a message matching ${(expected as Predicate).name || 'the predicate'}` : show(expected);
    return this.#next(timeoutMs, what, (received) => (matches(received.message) ? undefined : `expected ${what}, got ${show(received.message)}`)) as Promise<T>;
  }

  /** The next message must be an instance of `type`; resolves with it. */
  expectMsgType<T>(type: abstract new (...args: never[]) => T, timeoutMs = TestProbe.defaultTimeoutMs): Promise<T> {
    const what = `a message of type ${type.name}`;
    return this.#next(timeoutMs, what, (received) => (received.message instanceof type ? undefined : `expected ${what}, got ${show(received.message)}`)) as Promise<T>;
  }

  /** Resolves after `durationMs` if no message arrived meanwhile (or was already waiting); rejects at the first one. */
  expectNoMessage(durationMs: number): Promise<void> {
    const busy = this.#busyError('expectNoMessage');
    if (busy) return Promise.reject(busy);
    const queued = this.#queue.shift();
    if (queued) {
      this.#lastSender = queued.sender;
      return Promise.reject(new TestProbeError(`${this.ref.path}: expected no message for ${durationMs} ms, got ${show(queued.message)}`));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve();
      }, durationMs);
      this.#waiter = {
        offer: (received) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          this.#lastSender = received.sender;
          reject(new TestProbeError(`${this.ref.path}: expected no message for ${durationMs} ms, got ${show(received.message)}`));
          return true;
        },
      };
    });
  }

  /** Skips messages until one satisfies `predicate`; resolves with it. On timeout, the error lists the skipped ones. */
  fishForMessage<T = unknown>(predicate: (message: unknown) => boolean, timeoutMs = TestProbe.defaultTimeoutMs): Promise<T> {
    const skipped: unknown[] = [];
    const what = `a message matching ${predicate.name || 'the predicate'}`;
    return this.#take(
      timeoutMs,
      () => `${what}; skipped ${skipped.length === 0 ? 'nothing' : show(skipped)}`,
      (received, done) => {
        if (predicate(received.message)) done.resolve(received.message);
        else skipped.push(received.message);
      },
    ) as Promise<T>;
  }

  /** Resolves with the next `n` messages, in order. */
  receiveN(n: number, timeoutMs = TestProbe.defaultTimeoutMs): Promise<unknown[]> {
    if (!Number.isSafeInteger(n) || n < 0) return Promise.reject(new RangeError(`receiveN takes a count >= 0, got ${n}`));
    const got: unknown[] = [];
    if (n === 0) return Promise.resolve(got);
    return this.#take(
      timeoutMs,
      () => `${n} messages; got ${got.length}: ${show(got)}`,
      (received, done) => {
        got.push(received.message);
        if (got.length === n) done.resolve(got);
      },
    ) as Promise<unknown[]>;
  }

  /** Watches `ref`: when it stops, the probe receives `Terminated(ref)` like any other message. */
  watch(ref: ActorRef): void {
    this.#actorContext.watch(ref);
  }

  unwatch(ref: ActorRef): void {
    this.#actorContext.unwatch(ref);
  }

  /** The next message must be `Terminated` for `ref` (watch it first). */
  expectTerminated(ref: ActorRef, timeoutMs = TestProbe.defaultTimeoutMs): Promise<Terminated> {
    const what = `Terminated(${ref.path})`;
    return this.#next(timeoutMs, what, (received) =>
      received.message instanceof Terminated && received.message.actor === ref ? undefined : `expected ${what}, got ${show(received.message)}`,
    ) as Promise<Terminated>;
  }

  #arrive(received: Received): void {
    if (this.#waiter?.offer(received)) return;
    this.#queue.push(received);
  }

  /** Takes exactly one message; `mismatch` returns why it does not fit, or undefined when it does. */
  #next(timeoutMs: number, what: string, mismatch: (received: Received) => string | undefined): Promise<unknown> {
    return this.#take(
      timeoutMs,
      () => `${what}; nothing arrived`,
      (received, done) => {
        const problem = mismatch(received);
        if (problem === undefined) done.resolve(received.message);
        else done.reject(new TestProbeError(`${this.ref.path}: ${problem}`));
      },
    );
  }

  /**
   * Feeds queued, then arriving messages to `consume` until it settles `done`, or the deadline passes.
   * One expectation at a time: two concurrent ones would race for the same messages.
   */
  #take(timeoutMs: number, describe: () => string, consume: (received: Received, done: { resolve(value: unknown): void; reject(error: Error): void }) => void): Promise<unknown> {
    const busy = this.#busyError('an expectation');
    if (busy) return Promise.reject(busy);
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new RangeError(`timeout must be a positive number of ms, got ${timeoutMs}`));
    }
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        settled = true;
        if (timer) clearTimeout(timer);
        if (this.#waiter === waiter) this.#waiter = undefined;
      };
      const done = {
        resolve: (value: unknown): void => {
          finish();
          resolve(value);
        },
        reject: (error: Error): void => {
          finish();
          reject(error);
        },
      };
      const waiter: Waiter = {
        offer: (received) => {
          this.#lastSender = received.sender;
          try {
            consume(received, done);
          } catch (error) {
            // A throwing predicate fails the expectation, not the probe's actor.
            done.reject(error instanceof Error ? error : new TestProbeError(String(error)));
          }
          return true;
        },
      };
      while (!settled && this.#queue.length > 0) waiter.offer(this.#queue.shift()!);
      if (settled) return;
      this.#waiter = waiter;
      timer = setTimeout(() => {
        finish();
        reject(new TestProbeError(`${this.ref.path}: timeout (${timeoutMs} ms) waiting for ${describe()}`));
      }, timeoutMs);
    });
  }

  #busyError(what: string): TestProbeError | undefined {
    if (!this.#waiter) return undefined;
    return new TestProbeError(`${this.ref.path}: ${what} was started while another is still waiting; await each in turn`);
  }
}
