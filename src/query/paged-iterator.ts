/**
 * A query's events handed out from its pages. Each query is written as an async generator that yields
 * one page of stored events per pull (its statements, live wait, abort and cleanup stay plain control
 * flow); this iterator hands out that page's events one `next()` at a time without an async
 * generator's machinery per event. An async generator's `yield` costs several promise turns, and on a
 * catch-up of small events that was the largest part of what the read journal added to the driver's
 * own work (see bench/README.md, "currentAllEvents").
 *
 * It keeps what the generators did per event: a page is asked for only when the consumer pulls past
 * the end of the one before (never more than one page held), events are decoded as they are handed out
 * (a consumer gets every event before one that cannot be read, then the error, and the query ends),
 * steadfast's internal streams are left out where asked, and `return()` ends the query (its `finally`).
 * Calls to `next()` made before the previous one settled are answered in order.
 */
import type { OrderedRepr } from '../persistence/journal-queries.js';
import { EventEnvelope } from './event-envelope.js';

/** Turns one stored event into what queries yield: deserialized and through the event adapters. */
export type EventDecoder = (repr: OrderedRepr) => readonly unknown[];

/**
 * Streams steadfast keeps beside the users' (the delivery actors' sender identities) start with this;
 * queries never yield them.
 */
export const INTERNAL_STREAM_PREFIX = '@steadfast/';

const NO_ROWS: readonly OrderedRepr[] = Object.freeze([]);
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export class PagedIterator implements AsyncIterableIterator<EventEnvelope> {
  #page = NO_ROWS;
  #index = 0;
  /** The envelopes after the first that one stored event became (an event adapter may split it). */
  #rest: EventEnvelope[] | undefined;
  /** `return()` was called, the pages ended, or a read or decode failed: later pulls are done. */
  #closed = false;
  #fetching: Promise<IteratorResult<EventEnvelope>> | undefined;
  /** A decode failure met by `takeInHand`, for the next `next()` to report. */
  #failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly pages: AsyncGenerator<readonly OrderedRepr[], void, undefined>,
    private readonly decode: EventDecoder,
    /** Leave out steadfast's internal streams (queries across streams). */
    private readonly skipInternal: boolean,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<EventEnvelope>> {
    const fetching = this.#fetching;
    if (fetching !== undefined) {
      const after = () => this.next();
      return fetching.then(after, after);
    }
    if (this.#closed) return Promise.resolve(DONE);
    return this.#pull();
  }

  /**
   * Appends the events of the page in hand to `into` until it holds `max`, without a promise per event
   * (a projection's read-ahead takes its events this way). Appends none while a page is read, and stops
   * at the page's end: `next()` reads on. A decode failure stops it; the next `next()` reports it, after
   * the events before it.
   */
  takeInHand(into: EventEnvelope[], max: number): void {
    if (this.#fetching !== undefined || this.#closed || this.#failure !== undefined) return;
    while (into.length < max) {
      let value: EventEnvelope | undefined;
      try {
        value = this.#take();
      } catch (error) {
        this.#failure = { error };
        return;
      }
      if (value === undefined) return;
      into.push(value);
    }
  }

  async return(): Promise<IteratorResult<EventEnvelope>> {
    this.#close();
    // Runs the query's `finally` (after a page read in flight, as an async generator would).
    await this.pages.return(undefined);
    this.#close();
    return DONE;
  }

  #pull(): Promise<IteratorResult<EventEnvelope>> {
    let value: EventEnvelope | undefined;
    try {
      if (this.#failure !== undefined) throw this.#failure.error;
      value = this.#take();
    } catch (error) {
      this.#close();
      const fail = () => Promise.reject(error);
      return this.pages.return(undefined).then(fail, fail);
    }
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.#closed) return Promise.resolve(DONE);
    const fetching = this.pages.next().then(
      (result) => {
        this.#fetching = undefined;
        if (result.done === true) {
          this.#close();
          return DONE;
        }
        this.#page = result.value;
        this.#index = 0;
        return this.#pull();
      },
      (error: unknown) => {
        this.#fetching = undefined;
        this.#close();
        throw error;
      },
    );
    this.#fetching = fetching;
    return fetching;
  }

  /** The next envelope of the page in hand, or undefined when it has none left. */
  #take(): EventEnvelope | undefined {
    const rest = this.#rest;
    if (rest !== undefined) {
      const envelope = rest.shift();
      if (rest.length === 0) this.#rest = undefined;
      return envelope;
    }
    const page = this.#page;
    while (this.#index < page.length) {
      const repr = page[this.#index++]!;
      if (this.skipInternal && repr.persistenceId.startsWith(INTERNAL_STREAM_PREFIX)) continue;
      const events = this.decode(repr);
      if (events.length === 0) continue;
      if (events.length > 1) this.#rest = events.slice(1).map((event) => envelopeOf(repr, event));
      return envelopeOf(repr, events[0]);
    }
    this.#page = NO_ROWS;
    return undefined;
  }

  #close(): void {
    this.#closed = true;
    this.#page = NO_ROWS;
    this.#rest = undefined;
  }
}

function envelopeOf(repr: OrderedRepr, event: unknown): EventEnvelope {
  return new EventEnvelope(repr.offset, repr.persistenceId, repr.sequenceNr, event, repr.timestamp, repr.tags);
}
