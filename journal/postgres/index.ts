/**
 * steadfast/postgres: the production journal and snapshot store. Loading this entry point is the only
 * way `pg` gets loaded, so users of the core never pay for a driver they did not ask for.
 */
export { postgresJournal, PostgresJournal, type PostgresJournalOptions } from './journal.js';
export { postgresSnapshotStore, PostgresSnapshotStore, type PostgresSnapshotStoreOptions } from './snapshot-store.js';
export { migrate, type MigrateOptions } from './migrate.js';
export { MIGRATIONS, LATEST_VERSION, type Migration, type MigrationResult } from './migrations.js';
export type { PostgresPluginOptions, PostgresLogger } from './options.js';
export { SchemaBehindError, UnsafeIntegerError, PluginClosedError } from './errors.js';
export { classifyPostgresError } from './failure-reasons.js';
// The core's classes, shared by every journal, re-exported for convenience.
export { EventRejectedError, SequenceNrConflictError } from '../../src/persistence/spi.js';
export { postgresProjection, type PostgresProjectionOptions } from './projection.js';
export { PostgresOffsetStore } from './offset-store.js';
export { postgresInbox, PostgresInbox, type PostgresInboxOptions, type InboxOutcome } from './inbox.js';
