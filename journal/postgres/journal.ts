import {
  type AsyncWriteJournal,
  type AtomicWrite,
  InvalidOptionError,
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
import { classifyPostgresError, writeProbeSql } from './failure-reasons.js';
import { resolveOptions, type PostgresPluginOptions } from './options.js';
import { EventNotifications, notificationChannel } from './notifications.js';
import { PostgresOffsetStore } from './offset-store.js';
import { openPool } from './pool.js';
import { PostgresQueries, QUERY_POOL_SIZE } from './queries.js';
import { deleteTo, readHighest, readStatements, replay, replayForRecovery, type ReadStatements } from './read-path.js';
import { PostgresPlugin } from './schema-connection.js';
import { advisoryLockKey, quoteIdent } from './sql-names.js';
import { storeBatch, writeStatements, type WriteStatements } from './write-path.js';
import { WriterConnection } from './writer-connection.js';

export interface PostgresJournalOptions extends PostgresPluginOptions {
  /**
   * Every write notifies live queries in other processes (`pg_notify` in the write's transaction), so
   * they see the events at once instead of at their next poll (500 ms). Default true; the cost is in
   * bench/README.md ("LISTEN/NOTIFY").
   */
  notifyQueries?: boolean;
}

/** Events in one group-commit statement: ~1-2 MB of typical JSON events, well inside one round trip. */
const MAX_EVENTS_PER_FLUSH = 5000;

/**
 * The PostgreSQL journal: group commit through WriteBatcher (one multi-row INSERT per flush), paged
 * replay, and the read side for `readJournalOf(system)` (queries.ts).
 */
export class PostgresJournal extends PostgresPlugin implements AsyncWriteJournal, QueryableJournal, OffsetStoringJournal {
  readonly #batcher: WriteBatcher;
  readonly #writer: WriterConnection;
  readonly #writes: WriteStatements;
  readonly #reads: ReadStatements;
  readonly #queries: PostgresQueries;
  readonly #offsets: PostgresOffsetStore;
  readonly #writeProbe: string;
  #leases: AdvisoryLeases | undefined;

  constructor({ notifyQueries = true, ...options }: PostgresJournalOptions) {
    super(resolveOptions(options, 'postgresJournal'), 'postgresJournal');
    if (typeof notifyQueries !== 'boolean') throw new InvalidOptionError(`postgresJournal option notifyQueries must be a boolean, got ${JSON.stringify(notifyQueries)}`);
    const quoted = quoteIdent(this.schema);
    // Prepared statement names are per connection; a pool shared by plugins on different schemas must
    // not see one name with two texts.
    const statementId = advisoryLockKey('statements', this.schema).replace('-', 'n');
    const channel = notificationChannel(statementId);
    this.#writes = writeStatements(quoted, advisoryLockKey('write', this.schema), statementId, notifyQueries ? channel : undefined);
    this.#reads = readStatements(quoted, statementId);
    this.#queries = new PostgresQueries(
      () => openPool({ ...this.options, poolSize: QUERY_POOL_SIZE, applicationName: `${this.options.applicationName}-query` }),
      quoted,
      statementId,
      this.#reads,
      () => this.#ready(),
      new EventNotifications(this.options, channel),
    );
    this.#writeProbe = writeProbeSql(quoted);
    this.#offsets = new PostgresOffsetStore(this.pool, quoted, () => this.#ready());
    this.#writer = new WriterConnection(this.pool, this.options.logger);
    this.#batcher = new WriteBatcher((writes) => this.#flush(writes), { maxEventsPerFlush: MAX_EVENTS_PER_FLUSH });
  }

  writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    if (this.connection.closed) return Promise.reject(new PluginClosedError('postgresJournal'));
    return this.#batcher.write(writes);
  }

  async replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    await this.#ready();
    await replay(this.pool, this.#reads, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
  }

  async replayForRecovery(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<number> {
    await this.#ready();
    return replayForRecovery(this.pool, this.#reads, persistenceId, fromSequenceNr, toSequenceNr, max, onMessage);
  }

  async readHighestSequenceNr(persistenceId: string, _fromSequenceNr: number): Promise<number> {
    await this.#ready();
    return readHighest(this.pool, this.#reads, persistenceId);
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    await this.#ready();
    await deleteTo(this.pool, this.#reads, persistenceId, toSequenceNr);
  }

  classifyError(error: unknown): StoreFailureReason | undefined {
    return classifyPostgresError(error);
  }

  /** Fails with 25006 when the database, role or server refuses writes (see failure-reasons.ts); stores nothing. */
  async probeWrite(): Promise<void> {
    await this.#ready();
    await this.pool.query(this.#writeProbe);
  }

  /**
   * An exclusive lease on `name` within this schema, as a session-level advisory lock on a connection of
   * its own (see the SPI's `Lease`, and README "Leases"); undefined when anyone holds it already.
   */
  acquireLease(name: string): Promise<Lease | undefined> {
    if (this.connection.closed) return Promise.reject(new PluginClosedError('postgresJournal'));
    this.#leases ??= new AdvisoryLeases(this.options);
    return this.#leases.acquire(name);
  }

  /** Which of `names` any session holds as a lease in this schema now, from pg_locks (nothing is locked to ask). */
  async heldLeases(names: readonly string[]): Promise<ReadonlySet<string>> {
    if (this.connection.closed) throw new PluginClosedError('postgresJournal');
    await this.#ready();
    return heldLeaseNames(this.pool, this.options.schema, names);
  }

  /** Projection offsets in this schema (offset-store.ts). */
  offsetStore(): PostgresOffsetStore {
    return this.#offsets;
  }

  /** The read side (`readJournalOf(system)`); see queries.ts for its ordering guarantee. */
  queries(): JournalQueries {
    return this.#queries;
  }

  async close(): Promise<void> {
    if (!this.connection.markClosed()) return;
    await this.#batcher.idle();
    // Only after the last write: whoever takes a lease over next must find every write of ours stored.
    await this.#leases?.close();
    this.#writer.release();
    await this.#queries.close();
    await this.connection.release();
  }

  async #flush(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    // No closed check here: close() waits for writes accepted before it, and they must go out.
    await this.connection.migrated();
    const outcomes = await storeBatch(this.#writer, this.#writes, writes, this.options.logger);
    this.#queries.written();
    return outcomes;
  }

  #ready(): Promise<void> {
    return this.connection.ready();
  }
}

export function postgresJournal(options: PostgresJournalOptions): PostgresJournal {
  return new PostgresJournal(options);
}
