import { SteadfastError } from '../../src/persistence/spi.js';

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
