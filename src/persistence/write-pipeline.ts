import { asError } from '../actor/errors.js';
import type { ActorCell } from '../actor/actor-cell.js';
import type { ActorRef } from '../actor/actor-ref.js';
import type { BreakerCallback } from './circuit-breaker.js';
import { SequenceNumberOverflowError } from './errors.js';
import type { WriteOutcome } from './journal.js';
import { Invocation, InvocationGroup, InvocationQueue } from './pending-invocations.js';
import type { Persistence } from './persistence.js';
import type { AtomicWrite, PersistentRepr } from './persistent-repr.js';

/** What the pipeline needs from the actor that owns it. */
export interface PipelineHost {
  readonly persistence: Persistence;
  readonly cell: ActorCell;
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

const NO_TAGS: readonly string[] = Object.freeze([]);

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
export class WritePipeline implements BreakerCallback<readonly WriteOutcome[]> {
  readonly #host: PipelineHost;
  readonly #invocations = new InvocationQueue();
  #pendingStashing = 0;
  /** Events waiting for the next write, in call order; consecutive ones of one call form one AtomicWrite. */
  #queued: Invocation[] = [];
  /** The events of the write in flight (at most one), and the highest stored sequence number before it. */
  #inFlight: Invocation[] | undefined;
  #storedBeforeInFlight = 0;
  #flushScheduled = false;
  #running = false;
  /** Highest sequence number stored or being written. */
  #assignedSequenceNr = 0;
  #persistedSinceStart = false;
  // A plain field, read on every write: a getter on the host was a megamorphic load across actors.
  #persistenceId = '';

  constructor(host: PipelineHost) {
    this.#host = host;
  }

  /** The actor's persistenceId, once validated: every event written carries it. */
  identify(persistenceId: string): void {
    this.#persistenceId = persistenceId;
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

  /** `persist` / `persistAsync` of one event: the common case, without the arrays of persistAll. */
  persistOne<E>(event: E, handler: (event: E) => void | Promise<void>, stashing: boolean): Promise<void> {
    const group = new InvocationGroup();
    const sender = this.#host.cell.currentSender;
    let invocation: Invocation;
    try {
      invocation = this.#prepare(event, handler, stashing, sender, group);
    } catch (error) {
      this.#add(new Invocation('event', event, handler, stashing, sender, group, 'rejected', undefined, NO_TAGS), asError(error));
      return this.#scheduled(group);
    }
    this.#add(invocation);
    this.#queued.push(invocation);
    this.#persistedSinceStart = true;
    return this.#scheduled(group);
  }

  persist<E>(events: readonly E[], handler: (event: E) => void | Promise<void>, stashing: boolean, onComplete: (() => void | Promise<void>) | undefined): Promise<void> {
    if (!Array.isArray(events)) throw new TypeError('persistAll takes an array of events');
    const group = new InvocationGroup();
    const sender = this.#host.cell.currentSender;
    const prepared: Invocation[] = [];
    let rejection: Error | undefined;
    for (const event of events) {
      try {
        prepared.push(this.#prepare(event, handler, stashing, sender, group));
      } catch (error) {
        rejection = asError(error);
        break;
      }
    }
    if (rejection) {
      // All of a persistAll or none of it: one bad event rejects the whole call, before anything is written.
      for (const event of events) this.#add(new Invocation('event', event, handler, stashing, sender, group, 'rejected', undefined, NO_TAGS), rejection);
    } else if (prepared.length > 0) {
      for (const invocation of prepared) {
        this.#add(invocation);
        this.#queued.push(invocation);
      }
      this.#persistedSinceStart = true;
    }
    if (onComplete) this.#add(new Invocation('defer', undefined, onComplete, stashing, sender, group, 'written', undefined, NO_TAGS));
    if (group.remaining === 0) return Promise.resolve();
    return this.#scheduled(group);
  }

  defer<T>(value: T, handler: (value: T) => void | Promise<void>, stashing: boolean): Promise<void> {
    const group = new InvocationGroup();
    this.#add(new Invocation('defer', value, handler, stashing, this.#host.cell.currentSender, group, 'written', undefined, NO_TAGS));
    return this.#scheduled(group);
  }

  /** Persist or defer calls whose handlers have not run yet. */
  get hasPendingCalls(): boolean {
    return this.#invocations.size > 0 || this.#queued.length > 0;
  }

  /** Fails every pending call (the actor stops or restarts); their promises reject with `cause`. */
  abandon(cause: unknown): void {
    for (const invocation of this.#invocations.drain()) invocation.group.fail(cause);
    this.#pendingStashing = 0;
    this.#queued = [];
  }

  /** Adapts and serializes now, so an event that cannot be stored is rejected before anything is written. */
  #prepare<E>(event: E, handler: (event: E) => void | Promise<void>, stashing: boolean, sender: ActorRef | undefined, group: InvocationGroup): Invocation {
    const persistence = this.#host.persistence;
    const { payload, tags } = persistence.adapters.toJournal(event);
    const serialized = persistence.serialize(payload);
    return new Invocation('event', event, handler, stashing, sender, group, 'pending', serialized, tags);
  }

  #add(invocation: Invocation, rejection?: Error): void {
    if (rejection) {
      invocation.sequenceNr = this.#assignedSequenceNr;
      invocation.cause = rejection;
    }
    invocation.group.remaining++;
    if (invocation.stashing) this.#pendingStashing++;
    this.#invocations.push(invocation);
  }

  #scheduled(group: InvocationGroup): Promise<void> {
    // Flushing in a microtask gathers every persist call of one command into one journal call, and
    // lets an async onCommand `await this.persist(...)` without deadlocking on its own mailbox.
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      scheduleFlush(this);
    }
    return group.promise;
  }

  /** The microtask after a persist call: write what was gathered, run what is ready. @internal */
  flushTick(): void {
    this.#flushScheduled = false;
    this.#flush();
    this.#runReady();
  }

  #flush(): void {
    if (this.#inFlight !== undefined || this.#queued.length === 0 || !this.#host.isActive()) return;
    const host = this.#host;
    const queued = this.#queued;
    this.#queued = [];
    const timestamp = Date.now();
    const persistenceId = this.#persistenceId;
    const writerUuid = host.writerUuid;
    if (this.#assignedSequenceNr + queued.length > Number.MAX_SAFE_INTEGER) {
      this.#inFlight = queued;
      this.#storedBeforeInFlight = this.#assignedSequenceNr;
      this.#onWriteFailed(new SequenceNumberOverflowError(persistenceId));
      return;
    }
    const writes: AtomicWrite[] = [];
    let events: PersistentRepr[] = [];
    let sequenceNr = this.#assignedSequenceNr;
    for (let i = 0; i < queued.length; i++) {
      const invocation = queued[i]!;
      if (i > 0 && invocation.group !== queued[i - 1]!.group) {
        writes.push({ persistenceId, events });
        events = [];
      }
      const serialized = invocation.serialized!;
      invocation.sequenceNr = ++sequenceNr;
      events.push({
        serializerId: serialized.serializerId,
        manifest: serialized.manifest,
        payload: serialized.payload,
        persistenceId,
        sequenceNr,
        writerUuid,
        timestamp,
        tags: invocation.tags,
      });
    }
    writes.push({ persistenceId, events });
    this.#storedBeforeInFlight = this.#assignedSequenceNr;
    this.#assignedSequenceNr = sequenceNr;
    this.#inFlight = queued;
    host.persistence.writeMessages(writes, this);
  }

  // The pipeline is its own write callback: two closures and an object fewer per actor.
  /** @internal */
  onCallSucceeded(outcomes: readonly WriteOutcome[]): void {
    this.#onWritten(outcomes);
  }

  /** @internal */
  onCallFailed(error: unknown): void {
    this.#onWriteFailed(asError(error));
  }

  #onWriteFailed(cause: Error): void {
    this.#onWritten(undefined, cause);
  }

  /** The journal answered the write in flight: one outcome per AtomicWrite, or `cause` for all of it. */
  #onWritten(outcomes: readonly WriteOutcome[] | undefined, cause?: Error): void {
    const written = this.#inFlight;
    this.#inFlight = undefined;
    if (!this.#host.isActive() || written === undefined) return;
    let highestStored = this.#storedBeforeInFlight;
    let write = 0;
    let outcome: WriteOutcome = outcomes?.[0] ?? missingOutcome(cause);
    for (let i = 0; i < written.length; i++) {
      const invocation = written[i]!;
      if (i > 0 && invocation.group !== written[i - 1]!.group) outcome = outcomes?.[++write] ?? missingOutcome(cause);
      if (outcome.status === 'ok') {
        invocation.status = 'written';
        highestStored = invocation.sequenceNr;
      } else {
        invocation.status = outcome.status;
        invocation.cause = outcome.cause;
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

// One microtask flushes every pipeline that was persisted to in the same turn, instead of a closure
// kept per actor for its own microtask. Pipelines scheduled while the list drains join this drain.
let flushQueue: WritePipeline[] = [];

function scheduleFlush(pipeline: WritePipeline): void {
  if (flushQueue.length === 0) queueMicrotask(drainFlushQueue);
  flushQueue.push(pipeline);
}

function drainFlushQueue(): void {
  const queue = flushQueue;
  for (let i = 0; i < queue.length; i++) {
    try {
      queue[i]!.flushTick();
    } catch (error) {
      // As uncaught as it was in a microtask of its own, without costing the other pipelines their flush.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  flushQueue = [];
}

export function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<void>).then === 'function';
}

export { asError };

function missingOutcome(cause: Error | undefined): WriteOutcome {
  return { status: 'failed', cause: cause ?? new Error('the journal returned fewer outcomes than writes') };
}
