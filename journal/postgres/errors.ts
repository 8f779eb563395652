import { SteadfastError } from '../../src/persistence/spi.js';

/** The schema is older than this version of steadfast needs, and the plugin was told not to migrate. */
export class SchemaBehindError extends SteadfastError {
  constructor(
    readonly schema: string,
    readonly currentVersion: number,
    readonly requiredVersion: number,
  ) {
    super(
      'ERR_SCHEMA_BEHIND',
      `schema "${schema}" is at migration version ${currentVersion}, steadfast needs ${requiredVersion}: ` +
        `run "npx steadfast migrate --schema ${schema}" (or set autoMigrate: true)`,
    );
  }
}

/** A stored int8 does not fit a JS number without losing precision. */
export class UnsafeIntegerError extends SteadfastError {
  constructor(
    readonly column: string,
    readonly value: string,
  ) {
    super('ERR_UNSAFE_INTEGER', `${column} ${value} is larger than Number.MAX_SAFE_INTEGER`);
  }
}

/** The plugin was used after close(). */
export class PluginClosedError extends SteadfastError {
  constructor(what: string) {
    super('ERR_PLUGIN_CLOSED', `${what} is closed`);
  }
}
