/**
 * `steadfast/sqlite`: the embedded default store. Importing this entry point is what loads
 * better-sqlite3; the core never does.
 */
export { SqliteJournal, sqliteJournal } from './sqlite-journal.js';
export { SqliteSnapshotStore, sqliteSnapshotStore } from './sqlite-snapshot-store.js';
export type { SqliteDatabaseOptions, SqliteJournalOptions, SqliteSnapshotStoreOptions, SqliteSynchronous } from './options.js';
export {
  classifySqliteError,
  CorruptDatabaseError,
  DatabaseMissingError,
  JournalLockedError,
  JournalReadOnlyError,
  PluginClosedError,
  SchemaBehindError,
  SchemaVersionError,
  StoreFullError,
} from './errors.js';
// The core's classes, shared by every journal, re-exported for convenience.
export { EventRejectedError, SequenceNrConflictError } from '../../src/persistence/spi.js';
