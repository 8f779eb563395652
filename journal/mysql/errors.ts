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

// The same classes as the PostgreSQL plugin's (that module loads no driver): one code, one class,
// whichever journal raised it.
export { PluginClosedError, UnsafeIntegerError } from '../postgres/errors.js';
