import { SteadfastError } from '../../src/actor/errors.js';

/**
 * Another writer already stored this sequence number of this persistenceId (two incarnations of one
 * persistent actor, e.g. a split brain across processes). The journal never merges: the later write
 * fails and its actor stops, so the stream keeps exactly one history.
 */
export class SequenceNrConflictError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly fromSequenceNr: number,
    readonly toSequenceNr: number,
    options?: { cause?: unknown },
  ) {
    const range = fromSequenceNr === toSequenceNr ? `${fromSequenceNr}` : `${fromSequenceNr}..${toSequenceNr}`;
    super(
      'ERR_SEQUENCE_NR_CONFLICT',
      `persistenceId "${persistenceId}": sequence number ${range} is already stored by another writer`,
      options,
    );
  }
}

/** PostgreSQL refused the content of these events (e.g. a string payload that is not JSON text). */
export class EventRejectedError extends SteadfastError {
  constructor(readonly persistenceId: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_EVENT_REJECTED', `persistenceId "${persistenceId}": events refused by PostgreSQL: ${reason}`, options);
  }
}

/** The schema is older than this version of steadfast needs, and the plugin was told not to migrate. */
export class SchemaBehindError extends SteadfastError {
  constructor(readonly schema: string, readonly currentVersion: number, readonly requiredVersion: number) {
    super(
      'ERR_SCHEMA_BEHIND',
      `schema "${schema}" is at migration version ${currentVersion}, steadfast needs ${requiredVersion}: ` +
        `run "npx steadfast migrate --schema ${schema}" (or set autoMigrate: true)`,
    );
  }
}

/** A stored int8 does not fit a JS number without losing precision. */
export class UnsafeIntegerError extends SteadfastError {
  constructor(readonly column: string, readonly value: string) {
    super('ERR_UNSAFE_INTEGER', `${column} ${value} is larger than Number.MAX_SAFE_INTEGER`);
  }
}

/** The plugin was used after close(). */
export class PluginClosedError extends SteadfastError {
  constructor(what: string) {
    super('ERR_PLUGIN_CLOSED', `${what} is closed`);
  }
}
