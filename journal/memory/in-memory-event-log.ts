/**
 * The in-memory journal's read side: every stored event in write order with its global offset, the
 * persistence ids in the order they first appeared, and the wake-up for live queries. Offsets are
 * given at write time, so readers see events in exactly that order; deleted events stay in the log
 * until a compaction drops them (queries skip them at once).
 */
import type { JournalQueries, OrderedRepr, PersistentRepr } from '../../src/persistence/spi.js';

/** Drop deleted entries once they are at least this many and half of the log. */
const COMPACT_AFTER = 4096;

export class InMemoryEventLog implements JournalQueries {
  readonly pollIntervalMs = 1000;
  #offsets: number[] = [];
  #events: PersistentRepr[] = [];
  #highest = 0;
  #deletedSinceCompaction = 0;
  readonly #ids: string[] = [];
  readonly #idIndex = new Map<string, number>();
  readonly #listeners = new Set<() => void>();

  constructor(
    /** True when the journal no longer holds this event (deleted). */
    private readonly isDeleted: (event: PersistentRepr) => boolean,
    /** The events of one stream from `from` (inclusive), each with its offset, in order. */
    private readonly streamFrom: (persistenceId: string, from: number) => { events: readonly PersistentRepr[]; offsets: readonly number[]; start: number } | undefined,
    private readonly highestOf: (persistenceId: string) => number,
  ) {}

  /** The next offset for an event being stored now. */
  append(event: PersistentRepr): number {
    const offset = ++this.#highest;
    this.#offsets.push(offset);
    this.#events.push(event);
    if (!this.#idIndex.has(event.persistenceId)) {
      this.#idIndex.set(event.persistenceId, this.#ids.length);
      this.#ids.push(event.persistenceId);
    }
    return offset;
  }

  /** After a write call: wake the live queries. */
  written(): void {
    for (const listener of this.#listeners) listener();
  }

  deleted(count: number): void {
    this.#deletedSinceCompaction += count;
    if (this.#deletedSinceCompaction < COMPACT_AFTER || this.#deletedSinceCompaction * 2 < this.#events.length) return;
    const offsets: number[] = [];
    const events: PersistentRepr[] = [];
    for (let i = 0; i < this.#events.length; i++) {
      if (this.isDeleted(this.#events[i]!)) continue;
      offsets.push(this.#offsets[i]!);
      events.push(this.#events[i]!);
    }
    // Replaced, not edited: a query between two pages only keeps offsets, never indexes.
    this.#offsets = offsets;
    this.#events = events;
    this.#deletedSinceCompaction = 0;
  }

  // --- JournalQueries -------------------------------------------------------------------------------

  async eventsByPersistenceId(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, limit: number): Promise<readonly OrderedRepr[]> {
    const stream = this.streamFrom(persistenceId, fromSequenceNr);
    if (stream === undefined) return [];
    const page: OrderedRepr[] = [];
    for (let i = stream.start; i < stream.events.length && page.length < limit; i++) {
      const event = stream.events[i]!;
      if (event.sequenceNr > toSequenceNr) break;
      page.push({ ...event, offset: stream.offsets[i]! });
    }
    return page;
  }

  async eventsByTag(tag: string, afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#scan(afterOffset, upToOffset, limit, (event) => event.tags.includes(tag));
  }

  async allEvents(afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return this.#scan(afterOffset, upToOffset, limit, () => true);
  }

  async persistenceIds(afterId: string | undefined, limit: number): Promise<readonly string[]> {
    const start = afterId === undefined ? 0 : (this.#idIndex.get(afterId) ?? -1) + 1;
    return this.#ids.slice(start, start + limit);
  }

  async highestSequenceNr(persistenceId: string): Promise<number> {
    return this.highestOf(persistenceId);
  }

  async highestOffset(): Promise<number> {
    return this.#highest;
  }

  onEventsWritten(listener: () => void): () => void {
    // A function object of its own, so the same listener subscribed twice is two subscriptions.
    const subscription = () => listener();
    this.#listeners.add(subscription);
    return () => this.#listeners.delete(subscription);
  }

  #scan(afterOffset: number, upToOffset: number, limit: number, matches: (event: PersistentRepr) => boolean): OrderedRepr[] {
    const offsets = this.#offsets;
    const events = this.#events;
    const page: OrderedRepr[] = [];
    for (let i = firstAbove(offsets, afterOffset); i < offsets.length && page.length < limit; i++) {
      const offset = offsets[i]!;
      if (offset > upToOffset) break;
      const event = events[i]!;
      if (matches(event) && !this.isDeleted(event)) page.push({ ...event, offset });
    }
    return page;
  }
}

/** The index of the first offset greater than `offset` (offsets ascend). */
function firstAbove(offsets: readonly number[], offset: number): number {
  let low = 0;
  let high = offsets.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (offsets[middle]! <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
