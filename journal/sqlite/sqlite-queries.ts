/**
 * The SQLite journal's read side (`JournalQueries`). SQLite runs one write transaction at a time and
 * `ordering` is an AUTOINCREMENT key drawn inside it, so orderings become visible in commit order: no
 * horizon is needed, a reader that has seen ordering n never sees a lower one appear later. Live queries
 * are woken after this process's own writes; a read-only journal in another process finds the writer's
 * events by polling (`pollIntervalMs`). Statements are prepared once per connection and run
 * synchronously, a page at a time.
 */
import type Database from 'better-sqlite3';
import type { JournalQueries, OrderedRepr } from '../../src/persistence/spi.js';

const NO_TAGS: readonly string[] = Object.freeze([]);
const COLUMNS = 'e.ordering, e.persistence_id, e.sequence_nr, e.writer_uuid, e.timestamp, e.serializer_id, e.manifest, e.payload, e.tags';

type Row = [number, string, number, string, number, string, string, string | Uint8Array, string | null];

interface Statements {
  readonly byPersistenceId: Database.Statement;
  readonly byTag: Database.Statement;
  readonly all: Database.Statement;
  readonly ids: Database.Statement;
  readonly firstIds: Database.Statement;
  readonly highestSequenceNr: Database.Statement;
  readonly highestOffset: Database.Statement;
}

export class SqliteQueries implements JournalQueries {
  // better-sqlite3 runs one statement at a time on the event loop: more would only queue.
  readonly maxConcurrentStatements = 1;
  readonly #listeners = new Set<() => void>();
  #statements: Statements | undefined;
  #db: Database.Database | undefined;

  constructor(
    /** The journal's connection (opened on first use). */
    private readonly connection: () => Database.Database,
    /** How often live queries look for events another process wrote to the file (`pollIntervalMs`). */
    readonly pollIntervalMs: number,
  ) {}

  /** The journal committed events: wake this process's live queries. */
  written(): void {
    for (const listener of this.#listeners) listener();
  }

  async eventsByPersistenceId(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, limit: number): Promise<readonly OrderedRepr[]> {
    return toEvents(this.#prepared().byPersistenceId.all(persistenceId, fromSequenceNr, toSequenceNr, limit) as Row[]);
  }

  async eventsByTag(tag: string, afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return toEvents(this.#prepared().byTag.all(tag, afterOffset, upToOffset, limit) as Row[]);
  }

  async allEvents(afterOffset: number, upToOffset: number, limit: number): Promise<readonly OrderedRepr[]> {
    return toEvents(this.#prepared().all.all(afterOffset, upToOffset, limit) as Row[]);
  }

  async persistenceIds(afterId: string | undefined, limit: number): Promise<readonly string[]> {
    const statements = this.#prepared();
    const rows = (afterId === undefined ? statements.firstIds.all(limit) : statements.ids.all(afterId, limit)) as [string][];
    return rows.map((row) => row[0]);
  }

  async highestSequenceNr(persistenceId: string): Promise<number> {
    return (this.#prepared().highestSequenceNr.get(persistenceId, persistenceId) as [number])[0];
  }

  async highestOffset(): Promise<number> {
    return (this.#prepared().highestOffset.get() as [number])[0];
  }

  onEventsWritten(listener: () => void): () => void {
    const subscription = () => listener();
    this.#listeners.add(subscription);
    return () => this.#listeners.delete(subscription);
  }

  #prepared(): Statements {
    const db = this.connection();
    if (this.#statements !== undefined && this.#db === db) return this.#statements;
    const raw = (sql: string) => db.prepare(sql).raw(true);
    this.#statements = {
      byPersistenceId: raw(`SELECT ${COLUMNS} FROM journal_event e WHERE e.persistence_id = ? AND e.sequence_nr >= ? AND e.sequence_nr <= ? ORDER BY e.sequence_nr LIMIT ?`),
      byTag: raw(
        `SELECT ${COLUMNS} FROM journal_tag t JOIN journal_event e ON e.ordering = t.ordering
         WHERE t.tag = ? AND t.ordering > ? AND t.ordering <= ? ORDER BY t.ordering LIMIT ?`,
      ),
      all: raw(`SELECT ${COLUMNS} FROM journal_event e WHERE e.ordering > ? AND e.ordering <= ? ORDER BY e.ordering LIMIT ?`),
      ids: raw('SELECT DISTINCT persistence_id FROM journal_event WHERE persistence_id > ? ORDER BY persistence_id LIMIT ?'),
      firstIds: raw('SELECT DISTINCT persistence_id FROM journal_event ORDER BY persistence_id LIMIT ?'),
      highestSequenceNr: raw(
        `SELECT max(coalesce((SELECT max(sequence_nr) FROM journal_event WHERE persistence_id = ?), 0),
                    coalesce((SELECT highest_sequence_nr FROM journal_metadata WHERE persistence_id = ?), 0))`,
      ),
      highestOffset: raw('SELECT coalesce(max(ordering), 0) FROM journal_event'),
    };
    this.#db = db;
    return this.#statements;
  }
}

function toEvents(rows: readonly Row[]): OrderedRepr[] {
  return rows.map((row) => ({
    offset: row[0],
    persistenceId: row[1],
    sequenceNr: row[2],
    writerUuid: row[3],
    timestamp: row[4],
    serializerId: row[5],
    manifest: row[6],
    payload: row[7],
    tags: row[8] === null ? NO_TAGS : (JSON.parse(row[8]) as string[]),
  }));
}
