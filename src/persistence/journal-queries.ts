import type { PersistentRepr } from './persistent-repr.js';

/** A stored event with its position in the whole store. */
export interface OrderedRepr extends PersistentRepr {
  /**
   * Global to the store, increasing in the order readers may see events: a plugin never hands out an
   * offset lower than one it handed out before to the same kind of query (for PostgreSQL that means:
   * not before every transaction that could still commit below it has ended).
   */
  readonly offset: number;
}

/**
 * What a journal plugin offers the read side (the SPI under `ReadJournal`): pages of stored, serialized
 * events, and a signal that new ones may be readable. The core builds the eight queries, their
 * back-pressure, offsets, adapters and live behaviour on top, so each plugin writes only its
 * statements. Offsets in and out are exclusive lower bounds: `afterOffset = 0` reads from the start.
 * Deleted events are never returned. Every page is in ascending order and holds at most `limit` rows.
 * `upToOffset` is `Number.MAX_SAFE_INTEGER` for live queries and the `highestOffset()` a current query
 * started with otherwise (a plugin may treat the two differently, as PostgreSQL's commit horizon does).
 */
export interface JournalQueries {
  /** Events of one stream, `fromSequenceNr <= sequenceNr <= toSequenceNr`, ascending. */
  eventsByPersistenceId(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, limit: number): Promise<readonly OrderedRepr[]>;
  /** Events tagged `tag` with `offset > afterOffset` and `offset <= upToOffset`, ascending by offset. */
  eventsByTag(tag: string, afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]>;
  /** Every event with `afterOffset < offset <= upToOffset`, ascending by offset. */
  allEvents(afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]>;
  /** Persistence ids greater than `afterId` (in the store's order of ids), each once. */
  persistenceIds(afterId: string | undefined, limit: number): Promise<readonly string[]>;
  /** The highest sequence number stored for `persistenceId` (0 if none): where its `current` query ends. */
  highestSequenceNr(persistenceId: string): Promise<number>;
  /** The highest offset a reader may see now (0 for an empty store): where a `current*` query ends. */
  highestOffset(): Promise<number>;
  /**
   * Where a live reader may start following new events without skipping one that is still to become
   * readable (below `highestOffset()` when a store makes rows visible out of order, as PostgreSQL's
   * commit horizon does). Default: `highestOffset()`.
   */
  liveStartOffset?(): Promise<number>;
  /**
   * Calls `listener` whenever events may have become readable (written here, or seen written by another
   * process). A hint, not a delivery: live queries read after it and also poll, so a lost signal only
   * delays them. Returns the function that unsubscribes.
   */
  onEventsWritten(listener: () => void): () => void;
  /** How often live queries look for new events without a signal, in ms. */
  readonly pollIntervalMs: number;
  /** Statements the plugin runs at once for queries (its query connections). Default 4. */
  readonly maxConcurrentStatements?: number;
}

/** A journal that offers queries implements this beside `AsyncWriteJournal`. */
export interface QueryableJournal {
  queries(): JournalQueries;
}

export function isQueryable(journal: object): journal is QueryableJournal {
  return typeof (journal as Partial<QueryableJournal>).queries === 'function';
}
