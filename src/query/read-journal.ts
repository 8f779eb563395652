/**
 * The read side (Akka's Persistence Query): the eight queries over a journal's `JournalQueries`.
 * Each query is an async generator of pages, handed out event by event by a `PagedIterator`, so it
 * starts on the first pull and reads one page per pull of the page's last element (a slow consumer
 * never makes it buffer more than one page); breaking out of the loop runs its `finally`, and an abort
 * ends it at once, also while it waits for new events.
 */
import { InvalidOptionError } from '../actor/errors.js';
import type { JournalQueries, OrderedRepr } from '../persistence/journal-queries.js';
import { type ReadJournalOptions, resolveQuerySettings } from '../persistence/persistence-settings.js';
import { onAbort } from './abort-listeners.js';
import type { EventEnvelope } from './event-envelope.js';
import { type EventDecoder, INTERNAL_STREAM_PREFIX, PagedIterator } from './paged-iterator.js';
import { QueryAbortedError } from './query-errors.js';
import { StatementThrottle } from './statement-throttle.js';
import { type TailFilter, Tailer } from './tailer.js';

export type { ReadJournalOptions };

export interface QueryOptions {
  /** Ends the query: the pending or next pull rejects with an `AbortError` (`QueryAbortedError`). */
  readonly signal?: AbortSignal;
}

export { type EventDecoder, INTERNAL_STREAM_PREFIX };

/** The highest sequence number a range may name (ranges are inclusive at both ends). */
export const MAX_SEQUENCE_NR = Number.MAX_SAFE_INTEGER;

export class ReadJournal {
  readonly #queries: JournalQueries;
  /** The plugin's own queries, for the statements that pass the throttle here. */
  readonly #plugin: JournalQueries;
  readonly #decode: EventDecoder;
  readonly #pageSize: number;
  readonly #throttle: StatementThrottle;
  readonly #tailer: Tailer;

  constructor(queries: JournalQueries, decode: EventDecoder, options: ReadJournalOptions = {}) {
    const settings = resolveQuerySettings(options);
    this.#decode = decode;
    this.#plugin = queries;
    this.#pageSize = settings.pageSize;
    this.#throttle = new StatementThrottle(queries.maxConcurrentStatements ?? 4, settings.maxQueuedQueries, settings.queryThrottleTimeoutMs);
    // Every statement of every query goes through the throttle.
    const throttle = this.#throttle;
    this.#queries = {
      pollIntervalMs: queries.pollIntervalMs,
      maxConcurrentStatements: queries.maxConcurrentStatements,
      eventsByPersistenceId: (...args) => throttle.run(() => queries.eventsByPersistenceId(...args)),
      eventsByTag: (...args) => throttle.run(() => queries.eventsByTag(...args)),
      allEvents: (...args) => throttle.run(() => queries.allEvents(...args)),
      persistenceIds: (...args) => throttle.run(() => queries.persistenceIds(...args)),
      highestSequenceNr: (...args) => throttle.run(() => queries.highestSequenceNr(...args)),
      highestOffset: () => throttle.run(() => queries.highestOffset()),
      liveStartOffset: () => throttle.run(() => queries.liveStartOffset?.() ?? queries.highestOffset()),
      onEventsWritten: (listener) => queries.onEventsWritten(listener),
    };
    this.#tailer = new Tailer(queries, throttle, this.#pageSize);
  }

  /** The offset of the newest event readers may see now (0 for an empty store). */
  highestOffset(): Promise<number> {
    return this.#queries.highestOffset();
  }

  /** Queries waiting for a statement now (they fail past `maxQueuedQueries`). */
  get queuedQueries(): number {
    return this.#throttle.queued;
  }

  currentEventsByPersistenceId(persistenceId: string, fromSequenceNr = 0, toSequenceNr = MAX_SEQUENCE_NR, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return new PagedIterator(this.#byPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, false, options), this.#decode, false);
  }

  eventsByPersistenceId(persistenceId: string, fromSequenceNr = 0, toSequenceNr = MAX_SEQUENCE_NR, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return new PagedIterator(this.#byPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, true, options), this.#decode, false);
  }

  currentEventsByTag(tag: string, offset = 0, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return this.#byTag(tag, offset, false, options);
  }

  eventsByTag(tag: string, offset = 0, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return this.#byTag(tag, offset, true, options);
  }

  currentAllEvents(offset = 0, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return this.#all(offset, false, options);
  }

  allEvents(offset = 0, options: QueryOptions = {}): AsyncIterable<EventEnvelope> {
    return this.#all(offset, true, options);
  }

  currentPersistenceIds(options: QueryOptions = {}): AsyncIterable<string> {
    return this.#persistenceIds(false, options);
  }

  persistenceIds(options: QueryOptions = {}): AsyncIterable<string> {
    return this.#persistenceIds(true, options);
  }

  #byTag(tag: string, offset: number, live: boolean, options: QueryOptions): AsyncIterable<EventEnvelope> {
    const pages = this.#byOffset((after, upTo, limit) => this.#queries.eventsByTag(tag, after, upTo, limit), offset, { tag }, live, options);
    return new PagedIterator(pages, this.#decode, true);
  }

  #all(offset: number, live: boolean, options: QueryOptions): AsyncIterable<EventEnvelope> {
    const pages = this.#byOffset((after, upTo, limit) => this.#queries.allEvents(after, upTo, limit), offset, 'any', live, options);
    return new PagedIterator(pages, this.#decode, true);
  }

  // --- the generators of pages (PagedIterator hands out their events) ----------------------------------

  async *#byPersistenceId(persistenceId: string, from: number, to: number, live: boolean, options: QueryOptions): AsyncGenerator<readonly OrderedRepr[], void, undefined> {
    checkRange(from, to);
    const waiter = live ? new NewEvents(this.#tailer, { persistenceId }, options.signal) : undefined;
    try {
      checkAborted(options.signal);
      // A current query ends with what was stored when it started: a first page shorter than a page is
      // all of it, and after a full one the highest sequence number read then bounds the rest. So the
      // short streams a burst of queries reads cost one statement each, not two.
      let last = to;
      let bounded = live;
      let next = Math.max(from, 1);
      while (next <= last) {
        const start = next;
        const upTo = last;
        const page = await this.#throttle.run(() => {
          // One stream commits in sequence order, so a read that begins now sees all the tailer's start would wake it for.
          waiter?.readBegins();
          return this.#plugin.eventsByPersistenceId(persistenceId, start, upTo, this.#pageSize);
        });
        checkAborted(options.signal);
        if (!bounded) {
          bounded = true;
          if (page.length === this.#pageSize) last = Math.min(to, await this.#queries.highestSequenceNr(persistenceId));
        }
        if (page.length > 0) {
          next = page[page.length - 1]!.sequenceNr + 1;
          yield page;
        }
        if (page.length === this.#pageSize) continue;
        if (waiter === undefined || next > last) return;
        await waiter.next();
      }
    } finally {
      waiter?.close();
    }
  }

  async *#byOffset(
    page: (after: number, upTo: number, limit: number) => Promise<readonly OrderedRepr[]>,
    offset: number,
    filter: TailFilter,
    live: boolean,
    options: QueryOptions,
  ): AsyncGenerator<readonly OrderedRepr[], void, undefined> {
    checkOffset(offset);
    const waiter = live ? new NewEvents(this.#tailer, filter, options.signal) : undefined;
    try {
      checkAborted(options.signal);
      const upTo = live ? MAX_SEQUENCE_NR : await this.#queries.highestOffset();
      let after = offset;
      for (;;) {
        const rows = await page(after, upTo, this.#pageSize);
        checkAborted(options.signal);
        if (rows.length > 0) {
          after = rows[rows.length - 1]!.offset;
          yield rows;
        }
        if (rows.length === this.#pageSize) continue;
        if (waiter === undefined) return;
        await waiter.next();
      }
    } finally {
      waiter?.close();
    }
  }

  async *#persistenceIds(live: boolean, options: QueryOptions): AsyncGenerator<string> {
    const waiter = live ? new NewEvents(this.#tailer, 'any', options.signal) : undefined;
    try {
      checkAborted(options.signal);
      // Live: the ids stored so far, then the ids of events written after that point, each once.
      const start = live ? await this.#queries.liveStartOffset!() : 0;
      const seen = live ? new Set<string>() : undefined;
      let afterId: string | undefined;
      for (;;) {
        const ids = await this.#queries.persistenceIds(afterId, this.#pageSize);
        checkAborted(options.signal);
        for (const id of ids) {
          afterId = id;
          if (id.startsWith(INTERNAL_STREAM_PREFIX)) continue;
          seen?.add(id);
          yield id;
        }
        if (ids.length < this.#pageSize) break;
      }
      if (waiter === undefined || seen === undefined) return;
      let after = start;
      for (;;) {
        const rows = await this.#queries.allEvents(after, MAX_SEQUENCE_NR, this.#pageSize);
        checkAborted(options.signal);
        for (const repr of rows) {
          after = repr.offset;
          const id = repr.persistenceId;
          if (seen.has(id) || id.startsWith(INTERNAL_STREAM_PREFIX)) continue;
          seen.add(id);
          yield id;
        }
        if (rows.length < this.#pageSize) await waiter.next();
      }
    } finally {
      waiter?.close();
    }
  }
}

/**
 * Waits until the tailer saw an event this query may want, or the abort. Subscribed before the query's
 * first read, so an event seen while the query was reading counts: none falls between a read and the
 * wait.
 */
class NewEvents {
  /** An event this query may want was seen (or the abort). */
  #signalled = false;
  /** The tailer (re)read its position (`Tailer.positionKnownSince`): a read may be needed. */
  #positionRead: number | undefined;
  /** The tailer position in force when this query's last read began. */
  #readSince: number | undefined;
  #wake: (() => void) | undefined;
  readonly #unsubscribe: () => void;
  readonly #stopListening: () => void;

  constructor(
    private readonly tailer: Tailer,
    filter: TailFilter,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#unsubscribe = tailer.subscribe(filter, (positionRead) => this.#fire(positionRead));
    // An aborted query frees its subscription at once, even if nobody pulls it again. One listener per
    // signal, shared by the queries it ends (abort-listeners.ts).
    this.#stopListening =
      signal === undefined
        ? () => {}
        : onAbort(signal, () => {
            this.#unsubscribe();
            this.#fire();
          });
  }

  /**
   * The query's read begins now (as the statement runs): a wake-up for a tailer position already known
   * now is spent. Only for reads that see everything at or below the tailer's position (by
   * persistenceId); a by-offset read may stop short of it at the commit horizon.
   */
  readBegins(): void {
    const since = this.tailer.positionKnownSince;
    if (since === undefined) return;
    this.#readSince = since;
    if (this.#positionRead !== undefined && this.#positionRead <= since) this.#positionRead = undefined;
  }

  async next(): Promise<void> {
    if (!this.#signalled && this.#positionRead === undefined) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#signalled = false;
    this.#positionRead = undefined;
    checkAborted(this.signal);
  }

  close(): void {
    this.#unsubscribe();
    this.#stopListening();
    this.#wake = undefined;
  }

  #fire(positionRead?: number): void {
    if (positionRead === undefined) this.#signalled = true;
    else if (this.#readSince !== undefined && this.#readSince >= positionRead) return;
    else this.#positionRead = positionRead;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QueryAbortedError(signal.reason);
}

function checkRange(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || from < 0) throw new InvalidOptionError(`fromSequenceNr must be an integer >= 0, got ${String(from)}`);
  if (!Number.isSafeInteger(to) || to < 0) throw new InvalidOptionError(`toSequenceNr must be an integer >= 0, got ${String(to)}`);
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError(`offset must be an integer >= 0, got ${String(offset)}`);
}
