/**
 * `startProjection` (DESIGN.md, "Projections"): runs a handler for every event of a query and stores
 * the offset after it in the journal's own store, so that after a restart the projection resumes after
 * the last stored offset: at-least-once. A failing handler is retried with backoff, then the projection
 * stops (`done` rejects) or skips the event and records it, as configured. Where the journal offers
 * leases (PostgreSQL), a projection runs in one process at a time: the others wait for the lease.
 */
import type { ActorSystem } from '../actor/actor-system.js';
import { asError, InvalidOptionError, SteadfastError } from '../actor/errors.js';
import type { AsyncWriteJournal, Lease } from '../persistence/journal.js';
import { hasOffsetStore, type OffsetStore } from '../persistence/offset-store.js';
import { Persistence } from '../persistence/persistence.js';
import type { EventEnvelope } from './event-envelope.js';
import { claimProjectionName, registerProjection } from './projection-registry.js';
import { QueriesNotSupportedError } from './query-errors.js';
import { ReadAhead } from './read-ahead.js';
import type { QueryOptions, ReadJournal } from './read-journal.js';
import { readJournalOf } from './read-journal-of.js';

export interface ProjectionRetry {
  /** Attempts after the first one. Default 5. */
  readonly maxRetries?: number;
  /** Wait before the first retry, doubled each time. Default 100 ms. */
  readonly minBackoffMs?: number;
  /** Longest wait between attempts. Default 10 000 ms. */
  readonly maxBackoffMs?: number;
}

export interface ProjectionBaseOptions {
  /** Unique per store: the offset is kept under it. */
  readonly name: string;
  /** The events to project after `offset` (exclusive), e.g. `(journal, offset, options) => journal.eventsByTag('orders', offset, options)`. */
  readonly query: (readJournal: ReadJournal, offset: number, options: QueryOptions) => AsyncIterable<EventEnvelope>;
  readonly retry?: ProjectionRetry;
  /** After the retries: stop the projection (default), or skip the event, record it, and go on. */
  readonly onFailure?: 'stop' | 'skip';
}

export type ProjectionOptions<Event = unknown> = ProjectionBaseOptions &
  (
    | { readonly handler: (envelope: EventEnvelope<Event>) => void | Promise<void>; readonly handleBatch?: never }
    | {
        readonly handleBatch: (envelopes: readonly EventEnvelope<Event>[]) => void | Promise<void>;
        /** Most events per batch (those already read; a batch never waits for more). Default 100. */
        readonly batchSize?: number;
        readonly handler?: never;
      }
  );

export interface ProjectionHandle {
  readonly name: string;
  /** The last offset stored (0 before the first). */
  readonly offset: number;
  /** `running`, `waiting` (for the lease another process holds), or `stopped`. */
  readonly state: 'running' | 'waiting' | 'stopped';
  /** How far the stored offset is behind the newest event of the store, in offsets (PostgreSQL's have gaps). */
  lag(): Promise<number>;
  /** Resolves once stopped by `stop()` or with the system; rejects with `ProjectionFailedError`. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** A projection stopped because its handler kept failing (`onFailure: 'stop'`). */
export class ProjectionFailedError extends SteadfastError {
  constructor(
    readonly projection: string,
    readonly envelope: EventEnvelope,
    cause: Error,
  ) {
    super(
      'ERR_PROJECTION_FAILED',
      `projection "${projection}" stopped: its handler failed on ${envelope.persistenceId}#${envelope.sequenceNr} (offset ${envelope.offset}): ${cause.message}`,
      {
        cause,
      },
    );
  }
}

const LEASE_RETRY_MS = 1_000;

export function startProjection<Event = unknown>(system: ActorSystem, options: ProjectionOptions<Event>): ProjectionHandle {
  return run(system, resolve(options));
}

/**
 * A projection whose handler stores the offset itself, atomically with its effect (for plugins:
 * `postgresProjection` gives the handler the transaction). `handling` is called once with the
 * system's journal, to refuse a journal it cannot work with.
 */
export function startAtomicProjection(
  system: ActorSystem,
  options: ProjectionBaseOptions & { readonly batchSize?: number },
  handling: (journal: AsyncWriteJournal) => AtomicBatchHandler | AtomicBatchSession,
): ProjectionHandle {
  const base = resolve({ ...options, handleBatch: () => {} });
  const handled = handling(Persistence.get(system).journal);
  const session = typeof handled === 'function' ? undefined : handled;
  const atomic = typeof handled === 'function' ? handled : handled.handle;
  return run(system, {
    ...base,
    batchSize: options.batchSize === undefined ? 1 : base.batchSize,
    storesOffset: true,
    handle: (batch, following) => atomic(batch, batch[batch.length - 1]!.offset, following),
    endRun: session === undefined ? undefined : () => session.end(),
  });
}

/**
 * Handles a batch and stores `offset` (its last envelope's) in one step, e.g. in one database
 * transaction (`postgresProjection`): the read model and the offset then change together or not at all.
 * `following()` says whether the next batch is already read, so that a store may prepare for it in the
 * same round trip (PostgreSQL begins the next transaction with this one's commit).
 */
export type AtomicBatchHandler = (batch: readonly EventEnvelope[], offset: number, following: () => boolean) => Promise<void>;

/** A handler that keeps something between batches (a connection): `end()` frees it when a run ends. */
export interface AtomicBatchSession {
  readonly handle: AtomicBatchHandler;
  /** Called once per run, after its last batch (stop, lost lease, failure); must not throw. */
  end(): Promise<void>;
}

function run(system: ActorSystem, settings: Settings): ProjectionHandle {
  const persistence = Persistence.get(system);
  const journal = persistence.journal;
  if (!hasOffsetStore(journal)) throw new QueriesNotSupportedError(`${journal.constructor.name} (it keeps no projection offsets)`);
  const readJournal = readJournalOf(system);
  claimProjectionName(system, settings.name);
  const projection = new RunningProjection(settings, journal.offsetStore(), readJournal, journal.acquireLease?.bind(journal));
  registerProjection(system, projection);
  system.registerOnTermination(() => projection.stop());
  return projection;
}

interface Settings {
  readonly name: string;
  readonly query: ProjectionBaseOptions['query'];
  readonly handle: (envelopes: readonly EventEnvelope[], following: () => boolean) => void | Promise<void>;
  /** `handle` stores the offset itself (atomically with its effect). */
  readonly storesOffset: boolean;
  /** Frees what `handle` kept between the batches of a run (`AtomicBatchSession.end`). */
  readonly endRun?: () => Promise<void>;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly onFailure: 'stop' | 'skip';
}

function resolve<Event>(options: ProjectionOptions<Event>): Settings {
  if (typeof options.name !== 'string' || options.name.length === 0) throw new InvalidOptionError('startProjection option name must be a non-empty string');
  if (typeof options.query !== 'function') throw new InvalidOptionError('startProjection option query must be a function (readJournal, offset, options) => AsyncIterable');
  const onFailure = options.onFailure ?? 'stop';
  if (onFailure !== 'stop' && onFailure !== 'skip') throw new InvalidOptionError(`startProjection option onFailure must be "stop" or "skip", got ${JSON.stringify(onFailure)}`);
  const count = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidOptionError(`startProjection option ${name} must be an integer >= ${min}, got ${String(value)}`);
    return value;
  };
  let handle: Settings['handle'];
  let batchSize = 1;
  if (typeof options.handleBatch === 'function') {
    const handleBatch = options.handleBatch;
    handle = (envelopes) => handleBatch(envelopes as readonly EventEnvelope<Event>[]);
    batchSize = count('batchSize', options.batchSize, 100, 1);
  } else if (typeof options.handler === 'function') {
    const handler = options.handler;
    handle = (envelopes) => handler(envelopes[0] as EventEnvelope<Event>);
  } else {
    throw new InvalidOptionError('startProjection needs a handler (one event) or a handleBatch (several)');
  }
  return {
    name: options.name,
    query: options.query,
    handle,
    storesOffset: false,
    batchSize,
    maxRetries: count('retry.maxRetries', options.retry?.maxRetries, 5, 0),
    minBackoffMs: count('retry.minBackoffMs', options.retry?.minBackoffMs, 100, 1),
    maxBackoffMs: count('retry.maxBackoffMs', options.retry?.maxBackoffMs, 10_000, 1),
    onFailure,
  };
}

class RunningProjection implements ProjectionHandle {
  #offset = 0;
  #state: ProjectionHandle['state'] = 'waiting';
  readonly #stopping = new AbortController();
  readonly done: Promise<void>;

  constructor(
    private readonly settings: Settings,
    private readonly store: OffsetStore,
    private readonly readJournal: ReadJournal,
    private readonly acquireLease: ((name: string) => Promise<Lease | undefined>) | undefined,
  ) {
    this.done = this.#run().finally(() => {
      this.#state = 'stopped';
    });
    // A failure is reported through `done`; an unobserved one must not crash the process.
    this.done.catch(() => {});
  }

  get name(): string {
    return this.settings.name;
  }

  get offset(): number {
    return this.#offset;
  }

  get state(): ProjectionHandle['state'] {
    return this.#state;
  }

  async lag(): Promise<number> {
    return Math.max(0, (await this.readJournal.highestOffset()) - this.#offset);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.done.catch(() => {});
  }

  async #run(): Promise<void> {
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      const lease = await this.#lease();
      if (lease === 'stopped') return;
      this.#state = 'running';
      // The lease lost (another process may own the projection now) ends this run like a stop.
      const run = new AbortController();
      const end = () => run.abort();
      stopping.addEventListener('abort', end, { once: true });
      void lease?.lost.then(end);
      try {
        await this.#project(run.signal);
      } finally {
        stopping.removeEventListener('abort', end);
        await lease?.release();
      }
      if (!stopping.aborted) this.#state = 'waiting';
    }
  }

  /** The lease of this projection, where the journal offers leases; waits while another process holds it. */
  async #lease(): Promise<Lease | undefined | 'stopped'> {
    if (this.acquireLease === undefined) return undefined;
    const stopping = this.#stopping.signal;
    for (;;) {
      if (stopping.aborted) return 'stopped';
      const lease = await this.acquireLease(`projection:${this.settings.name}`).catch(() => undefined);
      if (lease !== undefined) return lease;
      await sleep(LEASE_RETRY_MS, stopping);
    }
  }

  async #project(signal: AbortSignal): Promise<void> {
    this.#offset = await this.store.readOffset(this.settings.name);
    // The query's own signal: a run that ends for any reason ends a read still in flight, so that the
    // iterator's return() below never waits for events that may not come.
    const reading = new AbortController();
    const endReading = () => reading.abort(signal.reason);
    signal.addEventListener('abort', endReading, { once: true });
    const iterator = this.settings.query(this.readJournal, this.#offset, { signal: reading.signal })[Symbol.asyncIterator]();
    // The query is read ahead of the handler (read-ahead.ts): while a batch is handled, the next one is
    // decoded and the read after it is in flight.
    const ahead = new ReadAhead(iterator, this.settings.batchSize);
    const following = () => ahead.buffered > 0;
    try {
      for (;;) {
        const batch = await ahead.take(this.settings.batchSize);
        if (batch === undefined) return;
        await this.#handle(batch, signal, following);
        if (signal.aborted) return;
      }
    } catch (error) {
      if (signal.aborted && asError(error).name === 'AbortError') return;
      throw error;
    } finally {
      signal.removeEventListener('abort', endReading);
      ahead.close();
      reading.abort();
      await ahead.pumped;
      await iterator.return?.().catch(() => undefined);
      await this.settings.endRun?.();
    }
  }

  async #handle(batch: readonly EventEnvelope[], signal: AbortSignal, following: () => boolean): Promise<void> {
    let delay = this.settings.minBackoffMs;
    let handled = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.settings.handle(batch, following);
        handled = true;
        break;
      } catch (error) {
        if (signal.aborted) return;
        if (attempt < this.settings.maxRetries) {
          await sleep(delay, signal);
          delay = Math.min(delay * 2, this.settings.maxBackoffMs);
          continue;
        }
        const cause = asError(error);
        if (this.settings.onFailure === 'stop') throw new ProjectionFailedError(this.settings.name, batch[0]!, cause);
        for (const envelope of batch) {
          await this.store.recordSkipped(this.settings.name, {
            offset: envelope.offset,
            persistenceId: envelope.persistenceId,
            sequenceNr: envelope.sequenceNr,
            error: cause.message,
            at: Date.now(),
          });
        }
        break;
      }
    }
    const offset = batch[batch.length - 1]!.offset;
    if (!handled || !this.settings.storesOffset) await this.store.saveOffset(this.settings.name, offset);
    this.#offset = offset;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
