import { InvalidOptionError } from '../../src/persistence/spi.js';
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import { validateDatabaseName } from './sql-names.js';

/** The logging calls the plugin makes; a pino logger fits. */
export type MysqlLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface MysqlPluginOptions {
  /** e.g. mysql://user:password@host:3306/db; the database it names holds the tables. Required unless `pool` is given. */
  connectionString?: string;
  /**
   * A mysql2/promise pool to share (e.g. between journal and snapshot store); the plugin then never ends
   * it. Its configuration must name a database. The journal's writer and lease connections are still
   * opened by the plugin, with the pool's connection settings.
   */
  pool?: Pool;
  /** Connections of the pool the plugin creates. Default 8. */
  poolSize?: number;
  /** Apply pending migrations in start(). Default true; if false, start() fails when the database is behind. */
  autoMigrate?: boolean;
  logger?: MysqlLogger;
}

export interface ResolvedOptions {
  readonly connectionString: string | undefined;
  readonly pool: Pool | undefined;
  readonly poolSize: number;
  readonly autoMigrate: boolean;
  readonly logger: MysqlLogger;
  /** The database the connection string (or the pool) names. */
  readonly database: string;
}

const KNOWN = new Set(['connectionString', 'pool', 'poolSize', 'autoMigrate', 'logger']);

const noop = (): void => {};
const SILENT: MysqlLogger = { debug: noop, info: noop, warn: noop, error: noop } as unknown as MysqlLogger;

/** The database a mysql:// URL names (its path), or undefined. */
function databaseOfUrl(connectionString: string, who: string): string | undefined {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new InvalidOptionError(`${who}: connectionString is not a URL (mysql://user:password@host:3306/db)`);
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new InvalidOptionError(`${who}: connectionString must start with mysql:// (or mariadb://), got ${url.protocol}//`);
  }
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return path === '' ? undefined : path;
}

/** The database of a pool passed in (mysql2 keeps its settings on the core pool). */
export function poolDatabase(pool: Pool): string | undefined {
  return (pool as unknown as { pool?: { config?: { connectionConfig?: { database?: string } } } }).pool?.config?.connectionConfig?.database;
}

/** Validates once, at the edge: every message names the option at fault. */
export function resolveOptions(options: MysqlPluginOptions, who: string): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`${who}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`${who}: unknown option "${key}"`);
  }
  const { connectionString, pool } = options;
  let database: string | undefined;
  if (pool === undefined) {
    if (typeof connectionString !== 'string' || connectionString.trim() === '') {
      throw new InvalidOptionError(`${who}: connectionString must be a non-empty string (or pass pool)`);
    }
    database = databaseOfUrl(connectionString, who);
  } else {
    if (typeof pool !== 'object' || pool === null || typeof (pool as { getConnection?: unknown }).getConnection !== 'function') {
      throw new InvalidOptionError(`${who}: pool must be a mysql2/promise Pool`);
    }
    for (const key of ['connectionString', 'poolSize'] as const) {
      if (options[key] !== undefined) {
        throw new InvalidOptionError(`${who}: ${key} cannot be combined with pool: configure the pool you pass instead`);
      }
    }
    database = poolDatabase(pool);
  }
  if (database === undefined) {
    throw new InvalidOptionError(`${who}: the connection string (or the pool) must name a database, e.g. mysql://root@127.0.0.1:3306/steadfast`);
  }
  const poolSize = options.poolSize ?? 8;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new InvalidOptionError(`${who}: poolSize must be an integer from 1 to 1000, got ${String(options.poolSize)}`);
  }
  const autoMigrate = options.autoMigrate ?? true;
  if (typeof autoMigrate !== 'boolean') {
    throw new InvalidOptionError(`${who}: autoMigrate must be a boolean, got ${String(options.autoMigrate)}`);
  }
  const logger = options.logger ?? SILENT;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (logger as unknown as Record<string, unknown>)[level] !== 'function') {
      throw new InvalidOptionError(`${who}: logger must be a pino logger (missing ${level}())`);
    }
  }
  return {
    connectionString: typeof connectionString === 'string' ? connectionString : undefined,
    pool,
    poolSize,
    autoMigrate,
    logger,
    database: validateDatabaseName(database),
  };
}
