import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type AsyncWriteJournal,
  type AtomicWrite,
  type JournalQueries,
  type OffsetStore,
  type OffsetStoringJournal,
  type QueryableJournal,
  WRITE_OK,
  WriteBatcher,
  type WriteOutcome,
  type ReplayedEvent,
  type StoreFailureReason,
} from '../../src/persistence/spi.js';
import type Database from 'better-sqlite3';
import { checkAtomicWrite } from '../memory/write-checks.js';
import { classifySqliteError, JournalReadOnlyError, PluginClosedError, StoreFullError } from './errors.js';
import { checkInteger, checkReadOnly, type ResolvedDatabaseOptions, type SqliteJournalOptions, validateDatabaseOptions } from './options.js';
import { acquireDatabase, type DatabaseLease } from './shared-database.js';
import { SqliteOffsetStore } from './sqlite-offset-store.js';
import { SqliteQueries } from './sqlite-queries.js';
import { TransactionSizer } from './transaction-sizer.js';

/** The hard cap on a transaction's events; the time budget below usually decides first. */
const DEFAULT_MAX_EVENTS_PER_TRANSACTION = 1000;
/** A write transaction's inserts and COMMIT are meant to block the event loop about this long at most. */
const DEFAULT_TRANSACTION_BUDGET_MS = 6;

const NO_TAGS: readonly string[] = Object.freeze([]);
/** Streams whose highest sequence number is remembered; beyond that the oldest entries are dropped. */
const HIGHEST_CACHE_LIMIT = 100_000;
/** Bytes of payload a replay page holds at most (about: the size of its rows decides the next page's length). */
const REPLAY_PAGE_BYTES = 8 * 1024 * 1024;

/** Rows removed per transaction by deleteMessagesTo, so a long prefix never blocks the event loop. */
const DELETE_CHUNK = 2000;

/**
 * What a write probe wants free: pages under max_page_count (a group commit of small events takes a
 * few) and bytes on the file system (the WAL grows before a checkpoint gives room back). Less than
 * this and the next commit is likely to meet SQLITE_FULL, so a failure is not worth retrying yet.
 */
const PROBE_MIN_FREE_PAGES = 16;
const PROBE_MIN_FREE_BYTES = 1024 * 1024;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Statements {
  readonly insert: Database.Statement;
  readonly maxStored: Database.Statement;
  readonly metadata: Database.Statement;
  readonly page: Database.Statement;
  readonly lowestStored: Database.Statement;
  readonly deleteRange: Database.Statement;
  readonly insertTag: Database.Statement;
  readonly deleteTags: Database.Statement;
  readonly upsertMetadata: Database.Statement;
}

type EventRow = [number, string, number, string, string, string | Uint8Array, string | null];

/**
 * The SQLite journal (better-sqlite3). Concurrent writes are gathered by WriteBatcher into one
 * transaction (group commit). Each AtomicWrite is checked against the stream's highest sequence
 * number before anything is inserted, so a conflicting write is left out alone with `failed` while
 * the others in the transaction commit. The check can trust a cached highest sequence number
 * because the database is held exclusively by this process (see shared-database.ts).
 *
 * better-sqlite3 is synchronous, so every step is kept short: transactions are bounded by
 * `maxEventsPerTransaction`, the batcher gets an event-loop turn between them, replays read pages
 * and yield between pages, and deletions go in chunks.
 */
export class SqliteJournal implements AsyncWriteJournal, QueryableJournal, OffsetStoringJournal {
  readonly #options: ResolvedDatabaseOptions;
  /** Reads a file another process writes (`readOnly: true`): see shared-database.ts. */
  readonly #readOnly: boolean;
  readonly #queries: SqliteQueries;
  readonly #offsets = new SqliteOffsetStore(() => this.#open().db);
  readonly #replayPageSize: number;
  readonly #batcher: WriteBatcher;
  readonly #sizer: TransactionSizer;
  /** performance.now() when the current write transaction's inserts were done (its COMMIT follows). */
  #insertsDone = 0;
  readonly #highest = new Map<string, number>();
  #lease: DatabaseLease | undefined;
  #statements: Statements | undefined;
  #writeTransaction: ((writes: readonly AtomicWrite[], outcomes: WriteOutcome[], touched: Map<string, number>) => void) | undefined;
  #closed = false;

  constructor(options: SqliteJournalOptions) {
    this.#options = validateDatabaseOptions('sqliteJournal', options);
    const maxEvents = checkInteger('sqliteJournal', 'maxEventsPerTransaction', options.maxEventsPerTransaction ?? DEFAULT_MAX_EVENTS_PER_TRANSACTION, 1);
    const budgetMs = checkInteger('sqliteJournal', 'transactionBudgetMs', options.transactionBudgetMs ?? DEFAULT_TRANSACTION_BUDGET_MS, 1);
    this.#sizer = new TransactionSizer(budgetMs, maxEvents);
    this.#replayPageSize = checkInteger('sqliteJournal', 'replayPageSize', options.replayPageSize ?? 500, 1);
    this.#readOnly = checkReadOnly('sqliteJournal', this.#options.path, options.readOnly);
    const pollIntervalMs = checkInteger('sqliteJournal', 'pollIntervalMs', options.pollIntervalMs ?? 500, 1);
    this.#queries = new SqliteQueries(() => this.#open().db, pollIntervalMs);
    // better-sqlite3 commits synchronously, so nothing can queue while a flush runs: the batcher waits one
    // event-loop turn before each transaction instead (the first included), and concurrent writers share it.
    this.#batcher = new WriteBatcher(async (writes) => this.#flush(writes), { maxEventsPerFlush: () => this.#sizer.nextSize, gatherOneTurn: true });
  }

  /** The resolved database path (after start). */
  get path(): string | undefined {
    return this.#lease?.path;
  }

  async start(): Promise<void> {
    this.#open();
  }

  async ping(): Promise<void> {
    this.#open().db.prepare('SELECT 1').get();
  }

  classifyError(error: unknown): StoreFailureReason | undefined {
    return classifySqliteError(error);
  }

  async probeWrite(): Promise<void> {
    const { db, path } = this.#open();
    if (this.#readOnly) throw new JournalReadOnlyError(path, 'be written');
    const pages = db.pragma('page_count', { simple: true }) as number;
    const maxPages = db.pragma('max_page_count', { simple: true }) as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    if (maxPages - pages + freePages < PROBE_MIN_FREE_PAGES) {
      throw new StoreFullError(path, `${pages} of at most ${maxPages} pages in use, ${freePages} free (max_page_count)`);
    }
    if (path === ':memory:') return;
    const disk = statfsSync(dirname(path));
    const freeBytes = disk.bavail * disk.bsize;
    if (freeBytes < PROBE_MIN_FREE_BYTES) throw new StoreFullError(path, `${freeBytes} bytes free on its file system`);
  }

  writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    try {
      const { path } = this.#open();
      if (this.#readOnly) throw new JournalReadOnlyError(path, 'persist events');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#batcher.write(writes);
  }

  #flush(writes: readonly AtomicWrite[]): readonly WriteOutcome[] {
    this.#open();
    const outcomes: WriteOutcome[] = new Array<WriteOutcome>(writes.length);
    const touched = new Map<string, number>();
    const started = performance.now();
    this.#writeTransaction!(writes, outcomes, touched);
    const committed = performance.now();
    let events = 0;
    for (const write of writes) events += write.events.length;
    this.#sizer.record(events, this.#insertsDone - started, committed - this.#insertsDone);
    this.#lease!.afterCommit();
    // Only now, after COMMIT: a rolled-back transaction must not advance the cache.
    for (const [persistenceId, highest] of touched) this.#remember(persistenceId, highest);
    if (touched.size > 0) this.#queries.written();
    return outcomes;
  }

  #writeAll(writes: readonly AtomicWrite[], outcomes: WriteOutcome[], touched: Map<string, number>): void {
    const { insert } = this.#statements!;
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const highest = touched.get(write.persistenceId) ?? this.#highestOf(write.persistenceId);
      const problem = checkAtomicWrite(write, highest);
      if (problem !== undefined) {
        outcomes[i] = problem;
        continue;
      }
      for (const event of write.events) {
        const { lastInsertRowid } = insert.run(
          event.persistenceId,
          event.sequenceNr,
          event.writerUuid,
          event.timestamp,
          event.serializerId,
          event.manifest,
          typeof event.payload === 'string' ? event.payload : asBuffer(event.payload),
          event.tags.length === 0 ? null : JSON.stringify(event.tags),
        );
        for (const tag of event.tags) this.#statements!.insertTag.run(tag, lastInsertRowid);
      }
      if (write.events.length > 0) touched.set(write.persistenceId, highest + write.events.length);
      outcomes[i] = WRITE_OK;
    }
    this.#insertsDone = performance.now();
  }

  async replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    let remaining = Math.min(max, Number.MAX_SAFE_INTEGER);
    let next = Math.max(fromSequenceNr, 1);
    const to = Math.min(toSequenceNr, Number.MAX_SAFE_INTEGER);
    let pageSize = this.#replayPageSize;
    while (remaining > 0 && next <= to) {
      this.#open();
      const { page } = this.#statements!;
      const limit = Math.min(remaining, pageSize);
      const rows = page.all(persistenceId, next, to, limit) as EventRow[];
      let pageBytes = 0;
      for (const row of rows) pageBytes += row[5].length;
      // A page of large events is as many megabytes alive at once: keep pages near REPLAY_PAGE_BYTES.
      if (rows.length > 0) pageSize = Math.max(1, Math.min(this.#replayPageSize, Math.floor(REPLAY_PAGE_BYTES / Math.max(1, pageBytes / rows.length))));
      for (const row of rows) {
        const [sequenceNr, writerUuid, timestamp, serializerId, manifest, payload, tags] = row;
        const pending = onMessage({
          persistenceId,
          sequenceNr,
          writerUuid,
          timestamp,
          serializerId,
          manifest,
          payload,
          tags: tags === null ? NO_TAGS : (JSON.parse(tags) as string[]),
        });
        if (pending !== undefined) await pending;
        next = sequenceNr + 1;
      }
      remaining -= rows.length;
      if (rows.length < limit) return;
      await yieldToEventLoop();
    }
  }

  async readHighestSequenceNr(persistenceId: string, _fromSequenceNr: number): Promise<number> {
    this.#open();
    // Another process writes a read-only journal's file: what it read before may be behind.
    if (this.#readOnly) this.#highest.delete(persistenceId);
    return this.#highestOf(persistenceId);
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    const { db, path } = this.#open();
    if (this.#readOnly) throw new JournalReadOnlyError(path, 'delete events');
    const statements = this.#statements!;
    const highest = this.#highestOf(persistenceId);
    const upTo = Math.min(toSequenceNr, highest);
    if (upTo <= 0) return;
    // The metadata row goes first: once any row is gone, the highest sequence number must not depend on rows.
    statements.upsertMetadata.run(persistenceId, highest, upTo);
    for (;;) {
      const lowest = (statements.lowestStored.get(persistenceId) as { lowest: number | null }).lowest;
      if (lowest === null || lowest > upTo) return;
      const chunkEnd = Math.min(upTo, lowest + DELETE_CHUNK - 1);
      db.transaction(() => {
        statements.deleteTags.run(persistenceId, chunkEnd);
        statements.deleteRange.run(persistenceId, chunkEnd);
      })();
      this.#lease?.afterCommit();
      if (chunkEnd === upTo) return;
      await yieldToEventLoop();
      this.#open();
    }
  }

  /**
   * Projection offsets in this file (sqlite-offset-store.ts). A read-only journal has none (it cannot
   * store them), so `startProjection` on it throws `JournalReadOnlyError` at once.
   */
  offsetStore(): OffsetStore {
    if (this.#readOnly) throw new JournalReadOnlyError(this.#lease?.path ?? this.#options.path, 'store projection offsets');
    return this.#offsets;
  }

  /** The read side (`readJournalOf(system)`): see sqlite-queries.ts. */
  queries(): JournalQueries {
    return this.#queries;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#batcher.idle();
    this.#closed = true;
    this.#statements = undefined;
    this.#writeTransaction = undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    await lease?.release();
  }

  #open(): DatabaseLease {
    if (this.#closed) throw new PluginClosedError('SQLite journal', this.#lease?.path ?? this.#options.path);
    if (this.#lease !== undefined) return this.#lease;
    const lease = acquireDatabase('sqliteJournal', this.#options, this.#readOnly);
    const { db } = lease;
    this.#statements = {
      insert: db.prepare(
        `INSERT INTO journal_event (persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      maxStored: db.prepare('SELECT max(sequence_nr) AS highest FROM journal_event WHERE persistence_id = ?'),
      metadata: db.prepare('SELECT highest_sequence_nr AS highest FROM journal_metadata WHERE persistence_id = ?'),
      page: db
        .prepare(
          `SELECT sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload, tags FROM journal_event
           WHERE persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ? ORDER BY sequence_nr LIMIT ?`,
        )
        .raw(true),
      lowestStored: db.prepare('SELECT min(sequence_nr) AS lowest FROM journal_event WHERE persistence_id = ?'),
      deleteRange: db.prepare('DELETE FROM journal_event WHERE persistence_id = ? AND sequence_nr <= ?'),
      insertTag: db.prepare('INSERT OR IGNORE INTO journal_tag (tag, ordering) VALUES (?, ?)'),
      // The tag entries of the events a deleteRange is about to remove (same arguments).
      deleteTags: db.prepare(
        `DELETE FROM journal_tag WHERE ordering IN
           (SELECT ordering FROM journal_event WHERE persistence_id = ? AND sequence_nr <= ? AND tags IS NOT NULL)`,
      ),
      upsertMetadata: db.prepare(
        `INSERT INTO journal_metadata (persistence_id, highest_sequence_nr, deleted_to) VALUES (?, ?, ?)
         ON CONFLICT (persistence_id) DO UPDATE SET
           highest_sequence_nr = max(highest_sequence_nr, excluded.highest_sequence_nr),
           deleted_to = max(deleted_to, excluded.deleted_to)`,
      ),
    };
    this.#writeTransaction = db.transaction((writes: readonly AtomicWrite[], outcomes: WriteOutcome[], touched: Map<string, number>) => this.#writeAll(writes, outcomes, touched));
    this.#lease = lease;
    return lease;
  }

  #highestOf(persistenceId: string): number {
    const cached = this.#highest.get(persistenceId);
    if (cached !== undefined) return cached;
    const { maxStored, metadata } = this.#statements!;
    const stored = (maxStored.get(persistenceId) as { highest: number | null }).highest ?? 0;
    const kept = (metadata.get(persistenceId) as { highest: number } | undefined)?.highest ?? 0;
    const highest = Math.max(stored, kept);
    this.#remember(persistenceId, highest);
    return highest;
  }

  #remember(persistenceId: string, highest: number): void {
    if (this.#highest.size >= HIGHEST_CACHE_LIMIT && !this.#highest.has(persistenceId)) {
      const oldest = this.#highest.keys().next().value;
      if (oldest !== undefined) this.#highest.delete(oldest);
    }
    this.#highest.set(persistenceId, highest);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A journal in one SQLite file (WAL, synchronous=FULL by default), held exclusively by this process;
 * with `readOnly: true`, a reader of a file another process holds (queries, replays; no writes).
 */
export function sqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  return new SqliteJournal(options);
}
