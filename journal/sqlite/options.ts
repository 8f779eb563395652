import { InvalidOptionError } from '../../src/persistence/spi.js';
import type { Logger } from 'pino';

export type SqliteSynchronous = 'FULL' | 'NORMAL';

/** Options shared by the SQLite journal and snapshot store (they may share one database file). */
export interface SqliteDatabaseOptions {
  /** The database file; created if missing. ':memory:' gives a database that lives as long as the process. */
  path: string;
  /**
   * `FULL` (default): every acknowledged write survives a power loss. `NORMAL`: in WAL mode it
   * survives a crash of the process but the last commits may be lost on power failure; faster.
   */
  synchronous?: SqliteSynchronous;
  /** How long opening waits for another process to let go of the file before ERR_JOURNAL_LOCKED (default 1000 ms). */
  lockTimeoutMs?: number;
  logger?: Logger;
}

export interface SqliteJournalOptions extends SqliteDatabaseOptions {
  /**
   * Upper bound on events in one group-commit transaction (default 1000). better-sqlite3 runs on the
   * event loop, so this bounds how long one commit keeps it busy; `transactionBudgetMs` usually decides first.
   */
  maxEventsPerTransaction?: number;
  /**
   * How long one write transaction (its inserts and COMMIT) is meant to keep the event loop busy, in ms
   * (default 6). Transactions take as many waiting events as fit at the cost measured so far; a COMMIT
   * slower than this (a slow disk) is paid whatever the size, and the inserts then get half of it.
   */
  transactionBudgetMs?: number;
  /** Events read per query during replay; the event loop gets a turn between pages (default 500). */
  replayPageSize?: number;
  /**
   * Read a file another process writes (default false): no lock, no migration, no checkpoints; every
   * write fails with `JournalReadOnlyError` (ERR_JOURNAL_READ_ONLY). Queries and replays read what the
   * writer committed; live queries find it by polling every `pollIntervalMs`.
   */
  readOnly?: boolean;
  /**
   * How often live queries look for events another process wrote, in ms (default 500). This process's
   * own writes wake them at once; a `readOnly` journal has only the poll.
   */
  pollIntervalMs?: number;
}

export type SqliteSnapshotStoreOptions = SqliteDatabaseOptions;

export interface ResolvedDatabaseOptions {
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  readonly lockTimeoutMs: number;
  readonly logger: Logger | undefined;
}

export function validateDatabaseOptions(plugin: string, options: SqliteDatabaseOptions): ResolvedDatabaseOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`${plugin}(options): options must be an object like { path: "./data/steadfast.db" }`);
  }
  const { path, synchronous = 'FULL', lockTimeoutMs = 1000, logger } = options;
  if (typeof path !== 'string' || path.trim() === '') {
    throw new InvalidOptionError(`${plugin}: option "path" must be a non-empty file path, got ${JSON.stringify(path)}`);
  }
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new InvalidOptionError(`${plugin}: option "synchronous" must be 'FULL' or 'NORMAL', got ${JSON.stringify(synchronous)}`);
  }
  checkInteger(plugin, 'lockTimeoutMs', lockTimeoutMs, 0);
  if (logger !== undefined && typeof (logger as { warn?: unknown }).warn !== 'function') {
    throw new InvalidOptionError(`${plugin}: option "logger" must be a pino logger`);
  }
  return { path, synchronous, lockTimeoutMs, logger };
}

/** `readOnly` reads a file another process writes: a ':memory:' database has no other process. */
export function checkReadOnly(plugin: string, path: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${plugin}: option "readOnly" must be a boolean, got ${JSON.stringify(value)}`);
  if (value && path === ':memory:') throw new InvalidOptionError(`${plugin}: option "readOnly" needs a file path; a ':memory:' database has no other process writing it`);
  return value;
}

export function checkInteger(plugin: string, name: string, value: unknown, minimum: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(`${plugin}: option "${name}" must be an integer >= ${minimum}, got ${JSON.stringify(value)}`);
  }
  return value;
}
