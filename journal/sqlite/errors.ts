import { SteadfastError, type StoreFailureReason } from '../../src/persistence/spi.js';

/**
 * Another process has the database open. The SQLite plugins take the file for themselves
 * (`locking_mode=EXCLUSIVE`) because two processes appending to the same streams would fork them.
 */
export class JournalLockedError extends SteadfastError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_JOURNAL_LOCKED',
      `the SQLite database ${path} is in use by another process; steadfast needs it for itself (stop the other process, or give this one a different path)`,
      options,
    );
  }
}

/** A write to a journal opened with `readOnly: true` (it reads a file another process writes). */
export class JournalReadOnlyError extends SteadfastError {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(
      'ERR_JOURNAL_READ_ONLY',
      `the SQLite journal on ${path} was opened with readOnly: true and cannot ${what}; the process that holds the file writes it (open it without readOnly there)`,
    );
  }
}

/** A read-only journal on a file that does not exist yet: only its writer creates it. */
export class DatabaseMissingError extends SteadfastError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_DATABASE_MISSING', `there is no SQLite database at ${path}; a readOnly journal reads the file its writer created: start the writer first, or fix the path`, options);
  }
}

/** A read-only journal on a file of an older schema: it cannot migrate it; its writer does when it opens the file. */
export class SchemaBehindError extends SteadfastError {
  constructor(
    readonly path: string,
    readonly found: number,
    readonly needed: number,
  ) {
    super(
      'ERR_SCHEMA_BEHIND',
      `the SQLite database ${path} has schema version ${found}, but this steadfast reads version ${needed}; a readOnly journal does not migrate: open the file once with a writer of this version`,
    );
  }
}

/** The database was written by a newer steadfast (its schema version is unknown to this one). */
export class SchemaVersionError extends SteadfastError {
  constructor(
    readonly path: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super('ERR_SCHEMA_VERSION', `the SQLite database ${path} has schema version ${found}, but this steadfast knows versions up to ${supported}; upgrade steadfast`);
  }
}

/** A journal or snapshot store was used after close(). */
export class PluginClosedError extends SteadfastError {
  constructor(
    what: string,
    readonly path: string,
  ) {
    super('ERR_PLUGIN_CLOSED', `the ${what} on ${path} has been closed`);
  }
}

/**
 * The file cannot be read as a SQLite database (not a database, a damaged page). Retrying cannot
 * help: an operator restores it or moves it away, so the message says which file and what to do.
 */
export class CorruptDatabaseError extends SteadfastError {
  constructor(
    readonly path: string,
    options: { cause: unknown },
  ) {
    const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('ERR_CORRUPT_DATABASE', `the SQLite database ${path} cannot be read (${detail}): restore it from a backup, or move it away to start with an empty store`, options);
  }
}

/** A write probe found no room: too few free pages under max_page_count, or too little disk space. */
export class StoreFullError extends SteadfastError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('ERR_STORE_FULL', `the SQLite database ${path} has no room for more writes: ${detail}`);
  }
}

/**
 * The reason behind a SQLite error (better-sqlite3's `code`, e.g. SQLITE_FULL, SQLITE_IOERR_WRITE),
 * looking through `cause`s; undefined for errors that say nothing about the store (a constraint).
 */
export function classifySqliteError(error: unknown): StoreFailureReason | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof CorruptDatabaseError) return 'corrupt';
    if (current instanceof StoreFullError) return 'disk_full';
    if (current instanceof JournalLockedError || current instanceof DatabaseMissingError) return 'unreachable';
    if (current instanceof JournalReadOnlyError) return 'read_only';
    const code = (current as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) continue;
    const reason = REASONS.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`));
    if (reason !== undefined) return reason[1];
  }
  return undefined;
}

// SQLITE_IOERR_NOMEM and friends are extended codes of the primary ones below.
const REASONS: readonly (readonly [string, StoreFailureReason])[] = [
  ['SQLITE_FULL', 'disk_full'],
  ['SQLITE_READONLY', 'read_only'],
  ['SQLITE_CORRUPT', 'corrupt'],
  ['SQLITE_NOTADB', 'corrupt'],
  ['SQLITE_CANTOPEN', 'unreachable'],
  ['SQLITE_IOERR', 'unreachable'],
  ['SQLITE_PERM', 'read_only'],
  ['SQLITE_BUSY', 'unreachable'],
];
