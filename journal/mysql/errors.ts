import { SteadfastError } from '../../src/persistence/spi.js';

/** The database is older than this version of steadfast needs, and the plugin was told not to migrate. */
export class SchemaBehindError extends SteadfastError {
  constructor(
    readonly database: string,
    readonly currentVersion: number,
    readonly requiredVersion: number,
  ) {
    super(
      'ERR_SCHEMA_BEHIND',
      `database "${database}" is at migration version ${currentVersion}, steadfast needs ${requiredVersion}: ` +
        `run "npx steadfast migrate" with MYSQL_URL naming it (or set autoMigrate: true)`,
    );
  }
}

/**
 * A write or deletion waited longer than its limit for the database's ordering lock (ordering-lock.ts),
 * which another session held all that time: nothing of it was stored or deleted.
 */
export class OrderingLockTimeoutError extends SteadfastError {
  constructor(
    readonly database: string,
    readonly waitedSeconds: number,
  ) {
    super('ERR_ORDERING_LOCK_TIMEOUT', `another session held the ordering lock of database "${database}" for ${waitedSeconds}s; nothing was written`);
  }
}

// The same classes as the PostgreSQL plugin's (that module loads no driver): one code, one class,
// whichever journal raised it.
export { PluginClosedError, UnsafeIntegerError } from '../postgres/errors.js';
