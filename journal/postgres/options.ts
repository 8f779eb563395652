import { InvalidOptionError } from '../../src/persistence/spi.js';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { Logger } from 'pino';
import { validateSchemaName } from './sql-names.js';

/** The logging calls the plugin makes; a pino logger fits. */
export type PostgresLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface PostgresPluginOptions {
  /** e.g. postgres://user@host:5432/db. Required unless `pool` is given. */
  connectionString?: string;
  /** Schema holding the tables (created by the migration). Default 'steadfast'. */
  schema?: string;
  /** A pool to share (e.g. between journal and snapshot store); the plugin then never ends it. */
  pool?: pg.Pool;
  /** Connections of the pool the plugin creates. Default 8. */
  poolSize?: number;
  /** statement_timeout of the plugin's connections, ms; 0 disables. Default 30000. */
  statementTimeoutMs?: number;
  /** TLS options as `pg` takes them (true, or node:tls options). */
  ssl?: boolean | ConnectionOptions;
  /** Apply pending migrations in start(). Default true; if false, start() fails when the schema is behind. */
  autoMigrate?: boolean;
  logger?: PostgresLogger;
  /** application_name of the plugin's connections (shows in pg_stat_activity). Default 'steadfast'. */
  applicationName?: string;
}

export interface ResolvedOptions {
  readonly connectionString: string | undefined;
  readonly schema: string;
  readonly pool: pg.Pool | undefined;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly ssl: boolean | ConnectionOptions | undefined;
  readonly autoMigrate: boolean;
  readonly logger: PostgresLogger;
  readonly applicationName: string;
}

const KNOWN = new Set(['connectionString', 'schema', 'pool', 'poolSize', 'statementTimeoutMs', 'ssl', 'autoMigrate', 'logger', 'applicationName']);

const noop = (): void => {};
const SILENT: PostgresLogger = { debug: noop, info: noop, warn: noop, error: noop } as unknown as PostgresLogger;

/** Validates once, at the edge: every message names the option at fault. */
export function resolveOptions(options: PostgresPluginOptions, who: string): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`${who}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`${who}: unknown option "${key}"`);
  }
  const { connectionString, pool } = options;
  if (pool === undefined) {
    if (typeof connectionString !== 'string' || connectionString.trim() === '') {
      throw new InvalidOptionError(`${who}: connectionString must be a non-empty string (or pass pool)`);
    }
  } else {
    if (typeof pool !== 'object' || pool === null || typeof (pool as { query?: unknown }).query !== 'function') {
      throw new InvalidOptionError(`${who}: pool must be a pg.Pool`);
    }
    // These settings belong to the pool's own configuration; silently ignoring them would surprise.
    for (const key of ['connectionString', 'poolSize', 'statementTimeoutMs', 'ssl', 'applicationName'] as const) {
      if (options[key] !== undefined) {
        throw new InvalidOptionError(`${who}: ${key} cannot be combined with pool: configure the pool you pass instead`);
      }
    }
  }
  const poolSize = options.poolSize ?? 8;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new InvalidOptionError(`${who}: poolSize must be an integer from 1 to 1000, got ${String(options.poolSize)}`);
  }
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 0 || statementTimeoutMs > 2_147_483_647) {
    throw new InvalidOptionError(`${who}: statementTimeoutMs must be a non-negative integer (ms, 0 = none), got ${String(options.statementTimeoutMs)}`);
  }
  const ssl = options.ssl;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (typeof ssl !== 'object' || ssl === null)) {
    throw new InvalidOptionError(`${who}: ssl must be a boolean or node:tls connection options`);
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
  const applicationName = options.applicationName ?? 'steadfast';
  // PostgreSQL truncates application_name to 63 bytes and keeps printable ASCII only.
  if (typeof applicationName !== 'string' || !/^[\x20-\x7e]{1,63}$/.test(applicationName)) {
    throw new InvalidOptionError(`${who}: applicationName must be 1 to 63 printable ASCII characters`);
  }
  return {
    connectionString: typeof connectionString === 'string' ? connectionString : undefined,
    schema: validateSchemaName(options.schema ?? 'steadfast'),
    pool,
    poolSize,
    statementTimeoutMs,
    ssl,
    autoMigrate,
    logger,
    applicationName,
  };
}
