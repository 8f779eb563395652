import {
  type AsyncWriteJournal,
  type AtomicWrite,
  type JournalQueries,
  type Lease,
  type OffsetStoringJournal,
  type QueryableJournal,
  type StoreFailureReason,
  WriteBatcher,
  type WriteOutcome,
  type ReplayedEvent,
} from '../../src/persistence/spi.js';
import { AdvisoryLeases, heldLeaseNames } from './advisory-leases.js';
import { PluginClosedError } from './errors.js';
import { classifyMysqlError, writeProbeSql } from './failure-reasons.js';
import { MysqlOffsetStore } from './offset-store.js';
import { resolveOptions, type MysqlPluginOptions } from './options.js';
import { MysqlPlugin } from './plugin.js';
import { openPool } from './pool.js';
import { MysqlQueries, QUERY_POOL_SIZE } from './queries.js';
import { deleteTo, readHighest, readStatements, replay, replayForRecovery, type ReadStatements } from './read-path.js';
import { storeBatch, writeTables, type WriteTables } from './write-path.js';
import { WriterConnection } from './writer-connection.js';

export type MysqlJournalOptions = MysqlPluginOptions;

/**
 * Events in one group-commit statement. mysql2 sends values as SQL text (binary payloads as hex), and
 * the server refuses a statement over max_allowed_packet (16 MiB by default on MariaDB 10.11, 64 MiB
 * on MySQL 8): 2000 typical events are well below.
 */
const MAX_EVENTS_PER_FLUSH = 2000;

/**
 * The MySQL/MariaDB journal: group commit through WriteBatcher (one transaction in one round trip per
 * flush), paged replay, and the read side for `readJournalOf(system)` (queries.ts).
 */
export class MysqlJournal extends MysqlPlugin implements AsyncWriteJournal, QueryableJournal, OffsetStoringJournal {
  readonly #batcher: WriteBatcher;
  readonly #writer: WriterConnection;
  readonly #tables: WriteTables;
  readonly #reads: ReadStatements;
  readonly #queries: MysqlQueries;
  readonly #offsets: MysqlOffsetStore;
  readonly #writeProbe: string;
  #leases: AdvisoryLeases | undefined;

  constructor(options: MysqlJournalOptions) {
    super(resolveOptions(options, 'mysqlJournal'), 'mysqlJournal');
    this.#tables = writeTables(this.quoted);
    this.#reads = readStatements(this.quoted);
    this.#queries = new MysqlQueries(
      () => openPool(this.options, QUERY_POOL_SIZE),
      this.quoted,
      this.#reads,
      () => this.ready(),
    );
    this.#writeProbe = writeProbeSql(this.quoted);
    this.#offsets = new MysqlOffsetStore(this.pool, this.quoted, () => this.ready());
    this.#writer = new WriterConnection(this.options);
    this.#batcher = new WriteBatcher((writes) => this.#flush(writes), { maxEventsPerFlush: MAX_EVENTS_PER_FLUSH });
  }

  writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    if (this.closed) return Promise.reject(new PluginClosedError('mysqlJournal'));
    return this.#batcher.write(writes);
  }

  async replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    await this.ready();
    await replay(this.pool, this.#reads, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
  }

  async replayForRecovery(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<number> {
    await this.ready();
    return replayForRecovery(this.pool, this.#reads, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
  }

  async readHighestSequenceNr(persistenceId: string, _fromSequenceNr: number): Promise<number> {
    await this.ready();
    return readHighest(this.pool, this.#reads, persistenceId);
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    await this.ready();
    await deleteTo(this.pool, this.#reads, this.database, persistenceId, toSequenceNr);
  }

  classifyError(error: unknown): StoreFailureReason | undefined {
    return classifyMysqlError(error);
  }

  /** Fails as a write would when the server or the database refuses writes (failure-reasons.ts); stores nothing. */
  async probeWrite(): Promise<void> {
    await this.ready();
    await this.pool.query(this.#writeProbe);
  }

  /**
   * An exclusive lease on `name` within this database, as a named lock (GET_LOCK) on a connection of
   * its own (see the SPI's `Lease`, and README "Leases"); undefined when anyone holds it already.
   */
  acquireLease(name: string): Promise<Lease | undefined> {
    if (this.closed) return Promise.reject(new PluginClosedError('mysqlJournal'));
    this.#leases ??= new AdvisoryLeases(this.options);
    return this.#leases.acquire(name);
  }

  /** Which of `names` any session holds as a lease in this database now, from IS_USED_LOCK (nothing is locked to ask). */
  async heldLeases(names: readonly string[]): Promise<ReadonlySet<string>> {
    // No migration wait: named locks live in the server, not in the database's tables.
    this.assertOpen();
    return heldLeaseNames(this.pool, this.database, names);
  }

  /** Projection offsets in this database (offset-store.ts). */
  offsetStore(): MysqlOffsetStore {
    return this.#offsets;
  }

  /** The read side (`readJournalOf(system)`); see queries.ts for its ordering guarantee. */
  queries(): JournalQueries {
    return this.#queries;
  }

  async close(): Promise<void> {
    if (!this.markClosed()) return;
    await this.#batcher.idle();
    // Only after the last write: whoever takes a lease over next must find every write of ours stored.
    await this.#leases?.close();
    await this.#writer.close();
    await this.#queries.close();
    await this.releasePool();
  }

  async #flush(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    // No closed check here: close() waits for writes accepted before it, and they must go out.
    await this.migrated();
    const outcomes = await storeBatch(this.#writer, this.#tables, writes, this.options.logger);
    this.#queries.written();
    return outcomes;
  }
}

export function mysqlJournal(options: MysqlJournalOptions): MysqlJournal {
  return new MysqlJournal(options);
}
