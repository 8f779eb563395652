import type { ActorCell } from '../actor/actor-cell.js';
import { SequenceNumberOverflowError } from './errors.js';
import type { WriteOutcome } from './journal.js';
import { InvocationGroup, InvocationQueue, type Invocation } from './pending-invocations.js';
import type { Persistence } from './persistence.js';
import type { AtomicWrite, PersistentRepr } from './persistent-repr.js';
import type { SerializedValue } from './serialized-value.js';

/** What the pipeline needs from the actor that owns it. */
export interface PipelineHost {
  readonly persistence: Persistence;
  readonly cell: ActorCell;
  readonly persistenceId: string;
  readonly writerUuid: string;
  /** False once the actor stopped or is restarting: nothing runs any more. */
  isActive(): boolean;
  /** A handler of an event is about to run: lastSequenceNr becomes its number. */
  setLastSequenceNr(sequenceNr: number): void;
  onRejected(cause: Error, event: unknown, sequenceNr: number): void;
  /** The journal failed a write: the actor must stop. */
  onFailed(cause: Error, event: unknown, sequenceNr: number): void;
  /** A handler threw or rejected: a failure of the actor (its supervisor decides). */
  onHandlerFailed(error: unknown): void;
  /** No stashing invocation is pending any more: held-back commands may run. */
  onStashingDone(): void;
}

/** An event ready to be written; its sequence number is given when its write goes out. */
interface PreparedEvent {
  readonly serialized: SerializedValue;
  readonly tags: readonly string[];
  readonly invocation: Invocation;
}

/**
 * The write side of a persistent actor: turns persist / defer calls into journal writes and runs
 * their handlers strictly in call order once the journal answered.
 *
 * - All persist calls made in one synchronous stretch (one command) go out as one `writeMessages`
 *   call, one AtomicWrite per call, so a command that persists three times costs one round trip.
 * - At most one write per actor is in flight: writes of one stream reach the journal in order.
 * - Sequence numbers are given when a write goes out, counting on from what the journal accepted, so
 *   a write the journal rejected leaves no hole in the stream.
 */
export class WritePipeline {
  readonly #host: PipelineHost;
  readonly #invocations = new InvocationQueue();
  #pendingStashing = 0;
  #queued: PreparedEvent[][] = [];
  #writeInFlight = false;
  #flushScheduled = false;
  #running = false;
  /** Highest sequence number stored or being written. */
  #assignedSequenceNr = 0;
  #persistedSinceStart = false;

  constructor(host: PipelineHost) {
    this.#host = host;
  }

  /** Recovery found this to be the stream's highest sequence number. */
  startAt(highest: number): void {
    this.#assignedSequenceNr = highest;
  }

  get assignedSequenceNr(): number {
    return this.#assignedSequenceNr;
  }

  get persistedSinceStart(): boolean {
    return this.#persistedSinceStart;
  }

  /** A stashing persist or defer has not run its handler yet: commands must wait. */
  get holdsCommands(): boolean {
    return this.#pendingStashing > 0;
  }

  persist<E>(
    events: readonly E[],
    handler: (event: E) => void | Promise<void>,
    stashing: boolean,
    onComplete: (() => void | Promise<void>) | undefined,
  ): Promise<void> {
    if (!Array.isArray(events)) throw new TypeError('persistAll takes an array of events');
    const host = this.#host;
    const group = new InvocationGroup();
    const sender = host.cell.currentSender;
    const prepared: PreparedEvent[] = [];
    let rejection: Error | undefined;
    for (const event of events) {
      try {
        const { payload, tags } = host.persistence.adapters.toJournal(event);
        const serialized = host.persistence.serialize(payload);
        const invocation: Invocation = { kind: 'event', value: event, handler, stashing, sender, sequenceNr: 0, group, status: 'pending' };
        prepared.push({ serialized, tags, invocation });
      } catch (error) {
        rejection = asError(error);
        break;
      }
    }
    if (rejection) {
      // All of a persistAll or none of it: one bad event rejects the whole call, before anything is written.
      for (const event of events) {
        const rejected: Invocation = { kind: 'event', value: event, handler, stashing, sender, sequenceNr: this.#assignedSequenceNr, group, status: 'rejected', cause: rejection };
        this.#add(rejected);
      }
    } else if (prepared.length > 0) {
      for (const { invocation } of prepared) this.#add(invocation);
      this.#queued.push(prepared);
      this.#persistedSinceStart = true;
    }
    if (onComplete) this.#add({ kind: 'defer', value: undefined, handler: onComplete, stashing, sender, sequenceNr: 0, group, status: 'written' });
    if (group.remaining === 0) return Promise.resolve();
    this.#scheduleFlush();
    return group.promise;
  }

  defer<T>(value: T, handler: (value: T) => void | Promise<void>, stashing: boolean): Promise<void> {
    const group = new InvocationGroup();
    this.#add({ kind: 'defer', value, handler, stashing, sender: this.#host.cell.currentSender, sequenceNr: 0, group, status: 'written' });
    this.#scheduleFlush();
    return group.promise;
  }

  /** Fails every pending call (the actor stops or restarts); their promises reject with `cause`. */
  abandon(cause: unknown): void {
    for (const invocation of this.#invocations.drain()) invocation.group.fail(cause);
    this.#pendingStashing = 0;
    this.#queued = [];
  }

  #add(invocation: Invocation): void {
    invocation.group.remaining++;
    if (invocation.stashing) this.#pendingStashing++;
    this.#invocations.push(invocation);
  }

  // Flushing in a microtask gathers every persist call of one command into one journal call, and
  // lets an async onCommand `await this.persist(...)` without deadlocking on its own mailbox.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#onFlushTick);
  }

  readonly #onFlushTick = (): void => {
    this.#flushScheduled = false;
    this.#flush();
    this.#runReady();
  };

  #flush(): void {
    if (this.#writeInFlight || this.#queued.length === 0 || !this.#host.isActive()) return;
    const host = this.#host;
    const queued = this.#queued;
    this.#queued = [];
    const writes: AtomicWrite[] = new Array<AtomicWrite>(queued.length);
    const timestamp = Date.now();
    const persistenceId = host.persistenceId;
    const writerUuid = host.writerUuid;
    let sequenceNr = this.#assignedSequenceNr;
    for (let w = 0; w < queued.length; w++) {
      const group = queued[w]!;
      const events: PersistentRepr[] = new Array<PersistentRepr>(group.length);
      for (let i = 0; i < group.length; i++) {
        const { serialized, tags, invocation } = group[i]!;
        if (sequenceNr >= Number.MAX_SAFE_INTEGER) {
          this.#onWritten(queued, this.#assignedSequenceNr, queued.map(() => ({ status: 'failed', cause: new SequenceNumberOverflowError(persistenceId) }) as const));
          return;
        }
        invocation.sequenceNr = ++sequenceNr;
        events[i] = {
          serializerId: serialized.serializerId,
          manifest: serialized.manifest,
          payload: serialized.payload,
          persistenceId,
          sequenceNr,
          writerUuid,
          timestamp,
          tags,
        };
      }
      writes[w] = { persistenceId, events };
    }
    const before = this.#assignedSequenceNr;
    this.#assignedSequenceNr = sequenceNr;
    this.#writeInFlight = true;
    host.persistence.writeMessages(writes).then(
      (outcomes) => this.#onWritten(queued, before, outcomes),
      (error: unknown) => this.#onWritten(queued, before, writes.map(() => ({ status: 'failed', cause: asError(error) }) as const)),
    );
  }

  #onWritten(queued: readonly PreparedEvent[][], before: number, outcomes: readonly WriteOutcome[]): void {
    if (!this.#host.isActive()) return;
    this.#writeInFlight = false;
    let highestStored = before;
    for (let w = 0; w < queued.length; w++) {
      const outcome: WriteOutcome = outcomes[w] ?? { status: 'failed', cause: new Error('the journal returned fewer outcomes than writes') };
      const group = queued[w]!;
      for (const { invocation } of group) {
        if (outcome.status === 'ok') {
          invocation.status = 'written';
          highestStored = invocation.sequenceNr;
        } else {
          invocation.status = outcome.status;
          invocation.cause = outcome.cause;
        }
      }
    }
    // Rejected events were not stored: the next write continues after the last stored one.
    this.#assignedSequenceNr = highestStored;
    this.#runReady();
    this.#flush();
  }

  /** Runs ready invocations in order; pauses on an async handler and resumes when it settles. */
  #runReady(): void {
    if (this.#running || !this.#host.isActive()) return;
    this.#running = true;
    for (;;) {
      const next = this.#invocations.peek();
      if (!next || next.status === 'pending') break;
      this.#invocations.shift();
      if (next.status === 'failed') {
        this.#running = false;
        this.#failed(next);
        return;
      }
      let result: PromiseLike<void> | undefined;
      try {
        result = this.#run(next);
      } catch (error) {
        this.#running = false;
        this.#handlerFailed(next, error);
        return;
      }
      if (result) {
        result.then(
          () => {
            this.#running = false;
            if (!this.#host.isActive()) return;
            this.#finish(next);
            this.#runReady();
          },
          (error: unknown) => {
            this.#running = false;
            this.#handlerFailed(next, error);
          },
        );
        return;
      }
      if (!this.#host.isActive()) break;
      this.#finish(next);
    }
    this.#running = false;
  }

  #run(invocation: Invocation): PromiseLike<void> | undefined {
    const cell = this.#host.cell;
    const previousSender = cell.currentSender;
    cell.currentSender = invocation.sender;
    try {
      if (invocation.status === 'rejected') {
        if (invocation.kind === 'event') this.#host.onRejected(invocation.cause!, invocation.value, invocation.sequenceNr);
        return undefined;
      }
      if (invocation.kind === 'event') this.#host.setLastSequenceNr(invocation.sequenceNr);
      const result = (invocation.handler as (value: unknown) => void | Promise<void>)(invocation.value);
      return isThenable(result) ? result : undefined;
    } finally {
      cell.currentSender = previousSender;
    }
  }

  #finish(invocation: Invocation): void {
    if (invocation.stashing && --this.#pendingStashing === 0) this.#host.onStashingDone();
    invocation.group.completeOne();
  }

  #handlerFailed(invocation: Invocation, error: unknown): void {
    invocation.group.fail(error);
    this.abandon(error);
    this.#host.onHandlerFailed(error);
  }

  #failed(failed: Invocation): void {
    const cause = failed.cause ?? new Error('journal write failed');
    try {
      this.#host.onFailed(cause, failed.value, failed.sequenceNr);
    } finally {
      failed.group.fail(cause);
      this.abandon(cause);
    }
  }
}

export function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<void>).then === 'function';
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
