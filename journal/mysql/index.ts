/**
 * steadfast/mysql: the journal and snapshot store on MySQL 8 and MariaDB 10.6+. Loading this entry point
 * is the only way `mysql2` gets loaded, so users of the core never pay for a driver they did not ask for.
 */
export { mysqlJournal, MysqlJournal, type MysqlJournalOptions } from './journal.js';
export { mysqlSnapshotStore, MysqlSnapshotStore, type MysqlSnapshotStoreOptions } from './snapshot-store.js';
export { migrate, type MigrateOptions } from './migrate.js';
export { MIGRATIONS, LATEST_VERSION, type Migration, type MigrationResult } from './migrations.js';
export type { MysqlPluginOptions, MysqlLogger } from './options.js';
export { SchemaBehindError, UnsafeIntegerError, PluginClosedError } from './errors.js';
export { classifyMysqlError } from './failure-reasons.js';
export { MysqlOffsetStore } from './offset-store.js';
// The core's classes, shared by every journal, re-exported for convenience.
export { EventRejectedError, SequenceNrConflictError } from '../../src/persistence/spi.js';
export { mysqlProjection, type MysqlProjectionOptions } from './projection.js';
