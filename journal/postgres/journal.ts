import { type AsyncWriteJournal, type AtomicWrite, type Lease, WriteBatcher, type WriteOutcome, type ReplayedEvent, type StoreFailureReason } from '../../src/persistence/spi.js';
import { AdvisoryLeases } from './advisory-leases.js';
import { PluginClosedError } from './errors.js';
import { classifyPostgresError, writeProbeSql } from './failure-reasons.js';
import { globalStatements, queryAllEvents, queryEventsByTag, type GlobalReadOptions, type GlobalStatements, type OrderedEvent } from './global-queries.js';
import { resolveOptions, type PostgresPluginOptions } from './options.js';
import { deleteTo, readHighest, readStatements, replay, type ReadStatements } from './read-path.js';
import { PostgresPlugin } from './schema-connection.js';
import { advisoryLockKey, quoteIdent } from './sql-names.js';
import { storeBatch, writeStatements, type WriteStatements } from './write-path.js';
import { WriterConnection } from './writer-connection.js';

export type PostgresJournalOptions = PostgresPluginOptions;

/** Events in one group-commit statement: ~1-2 MB of typical JSON events, well inside one round trip. */
const MAX_EVENTS_PER_FLUSH = 5000;

/**
 * The PostgreSQL journal: group commit through WriteBatcher (one multi-row INSERT per flush), paged
 * replay, and schema-wide ordered reads for queries (readAllEvents / readEventsByTag).
 */
export class PostgresJournal extends PostgresPlugin implements AsyncWriteJournal {
  readonly #batcher: WriteBatcher;
  readonly #writer: WriterConnection;
  readonly #writes: WriteStatements;
  readonly #reads: ReadStatements;
  readonly #global: GlobalStatements;
  readonly #writeProbe: string;
  #leases: AdvisoryLeases | undefined;

  constructor(options: PostgresJournalOptions) {
    super(resolveOptions(options, 'postgresJournal'), 'postgresJournal');
    const quoted = quoteIdent(this.schema);
    // Prepared statement names are per connection; a pool shared by plugins on different schemas must
    // not see one name with two texts.
    const statementId = advisoryLockKey('statements', this.schema).replace('-', 'n');
    this.#writes = writeStatements(quoted, advisoryLockKey('write', this.schema), statementId);
    this.#reads = readStatements(quoted, statementId);
    this.#global = globalStatements(quoted);
    this.#writeProbe = writeProbeSql(quoted);
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

  /** Events of every persistenceId in `ordering` order, never past a position a late commit could fill. */
  async readAllEvents(options: GlobalReadOptions = {}): Promise<OrderedEvent[]> {
    await this.#ready();
    return queryAllEvents(this.pool, this.#global, options);
  }

  /** Events carrying `tag`, in `ordering` order, with the same guarantee as readAllEvents. */
  async readEventsByTag(tag: string, options: GlobalReadOptions = {}): Promise<OrderedEvent[]> {
    await this.#ready();
    return queryEventsByTag(this.pool, this.#global, tag, options);
  }

  async close(): Promise<void> {
    if (!this.connection.markClosed()) return;
    await this.#batcher.idle();
    // Only after the last write: whoever takes a lease over next must find every write of ours stored.
    await this.#leases?.close();
    this.#writer.release();
    await this.connection.release();
  }

  async #flush(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    // No closed check here: close() waits for writes accepted before it, and they must go out.
    await this.connection.migrated();
    return storeBatch(this.#writer, this.#writes, writes, this.options.logger);
  }

  #ready(): Promise<void> {
    return this.connection.ready();
  }
}

export function postgresJournal(options: PostgresJournalOptions): PostgresJournal {
  return new PostgresJournal(options);
}

export function readAllEvents(journal: PostgresJournal, options: GlobalReadOptions = {}): Promise<OrderedEvent[]> {
  return journal.readAllEvents(options);
}

export function readEventsByTag(journal: PostgresJournal, tag: string, options: GlobalReadOptions = {}): Promise<OrderedEvent[]> {
  return journal.readEventsByTag(tag, options);
}
