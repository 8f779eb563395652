/**
 * The journal and snapshot store the service runs on: SQLite files under DATA_DIR by default,
 * PostgreSQL when PG_URL is set, MySQL/MariaDB when MYSQL_URL is. Each driver is imported only when it
 * is used.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AsyncWriteJournal } from '../src/persistence/journal.js';
import type { SnapshotStore } from '../src/persistence/snapshot-store.js';
import { redactUrl, type ServiceConfig } from './config.js';

export interface Stores {
  readonly journal: AsyncWriteJournal;
  readonly snapshotStore: SnapshotStore;
  /** For log lines: where the data lives, without credentials. */
  readonly description: string;
  /** What one outbox is unique within, for the standby's answers and log lines (e.g. "schema steadfast"). */
  readonly leaseScope: string;
}

export async function createStores(config: ServiceConfig, logger: Logger): Promise<Stores> {
  if (config.pgUrl !== undefined) {
    const { postgresJournal, postgresSnapshotStore } = await import('../journal/postgres/index.js');
    const options = { connectionString: config.pgUrl, schema: config.pgSchema, logger: logger.child({ plugin: 'postgres' }), applicationName: 'steadfast-service' };
    return {
      journal: postgresJournal(options),
      snapshotStore: postgresSnapshotStore(options),
      description: `PostgreSQL ${redactUrl(config.pgUrl)} schema ${config.pgSchema}`,
      leaseScope: `schema ${config.pgSchema}`,
    };
  }
  if (config.mysqlUrl !== undefined) {
    const { mysqlJournal, mysqlSnapshotStore } = await import('../journal/mysql/index.js');
    const options = { connectionString: config.mysqlUrl, logger: logger.child({ plugin: 'mysql' }) };
    const journal = mysqlJournal(options);
    return {
      journal,
      snapshotStore: mysqlSnapshotStore(options),
      description: `MySQL ${redactUrl(config.mysqlUrl)}`,
      leaseScope: `database ${journal.database}`,
    };
  }
  const { sqliteJournal, sqliteSnapshotStore } = await import('../journal/sqlite/index.js');
  // One file for both: the plugins share one connection (and one lock) per file.
  const path = join(config.dataDir, 'steadfast.db');
  const sqliteLogger = logger.child({ plugin: 'sqlite' });
  return {
    journal: sqliteJournal({ path, logger: sqliteLogger }),
    snapshotStore: sqliteSnapshotStore({ path, logger: sqliteLogger }),
    description: `SQLite ${path}`,
    leaseScope: path,
  };
}
