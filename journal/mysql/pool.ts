import mysql, { type Connection, type ConnectionOptions, type Pool, type PoolConnection } from 'mysql2/promise';
import type { ResolvedOptions } from './options.js';

export interface PoolHandle {
  readonly pool: Pool;
  /** Ends the pool only when the plugin created it; a shared pool belongs to whoever passed it. */
  release(): Promise<void>;
}

/**
 * Session settings of the plugin's own connections. Strict mode: a value too long for its column fails
 * instead of being cut (both servers truncate with a warning otherwise; the write path checks lengths
 * too, for a shared pool). READ COMMITTED: a deletion takes no gap locks that would hold up the next
 * writes of the stream (every statement reads one snapshot under either level). Two statements: the
 * isolation variable is `tx_isolation` before MariaDB 11.1 and `transaction_isolation` in MySQL 8.
 */
const SESSION_SETTINGS = ["set session sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'", 'set session transaction isolation level read committed'];

/** Settings every connection the plugin opens shares. */
const COMMON: ConnectionOptions = {
  charset: 'utf8mb4',
  // BIGINTs come back as numbers while they are exact, as strings beyond (refused by toSafeNumber).
  supportBigNumbers: true,
  connectTimeout: 10_000,
  enableKeepAlive: true,
};

/** Connection settings for a dedicated connection (the writer, the leases): the plugin's, or the shared pool's. */
function connectionOptions(options: ResolvedOptions, extra: ConnectionOptions = {}): ConnectionOptions {
  if (options.pool !== undefined) {
    const config = (options.pool as unknown as { pool: { config: { connectionConfig: ConnectionOptions } } }).pool.config.connectionConfig;
    // The core config object carries derived fields too; these are the ones needed to connect.
    const { host, port, user, password, database, ssl, socketPath } = config;
    return { ...COMMON, host, port, user, password, database, ssl, socketPath, ...extra };
  }
  return { ...COMMON, uri: options.connectionString, ...extra };
}

/** A connection of its own, with the session settings. */
export async function openConnection(options: ResolvedOptions, extra: ConnectionOptions = {}): Promise<Connection> {
  const connection = await mysql.createConnection(connectionOptions(options, extra));
  try {
    for (const setting of SESSION_SETTINGS) await connection.query(setting);
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return connection;
}

/**
 * Creates (or adopts) the pool. mysql2 drops a pooled connection that dies and opens a new one on the
 * next checkout. A pool of the plugin's own gets the session settings on each new connection, queued
 * before anything the pool hands it out for; a shared pool is left as its owner made it.
 */
export function openPool(options: ResolvedOptions, size = options.poolSize): PoolHandle {
  const owned = options.pool === undefined;
  let pool = options.pool;
  if (pool === undefined) {
    pool = mysql.createPool({ ...connectionOptions(options), connectionLimit: size, maxIdle: size, idleTimeout: 30_000, waitForConnections: true });
    pool.on('connection', (connection) => {
      // The core (callback) connection: its query is queued before anything the pool hands it out for.
      for (const setting of SESSION_SETTINGS) {
        (connection as unknown as { query(sql: string, callback: (error: unknown) => void): void }).query(setting, (error) => {
          if (error) options.logger.warn({ err: error }, 'steadfast/mysql: session settings of a new connection failed');
        });
      }
    });
  }
  let ended = false;
  const handle = pool;
  return {
    pool: handle,
    async release() {
      if (!owned || ended) return;
      ended = true;
      await handle.end();
    },
  };
}

/** The server's error number (1062 ER_DUP_ENTRY, ...), if the error came from the server. */
export function errnoOf(error: unknown): number | undefined {
  if (error instanceof Error && typeof (error as { errno?: unknown }).errno === 'number' && typeof (error as { sqlState?: unknown }).sqlState === 'string') {
    return (error as unknown as { errno: number }).errno;
  }
  return undefined;
}

/**
 * Errors caused by what one write contains (duplicate keys, values a column refuses: SQLSTATE classes
 * 22 and 23), as opposed to the connection or the server being unwell. Only these are worth isolating
 * write by write.
 */
export function isContentError(error: unknown): boolean {
  if (!(error instanceof Error) || (error as { fatal?: unknown }).fatal === true) return false;
  const state = (error as { sqlState?: unknown }).sqlState;
  return typeof state === 'string' && (state.startsWith('22') || state.startsWith('23'));
}

/**
 * `work` in a transaction on `connection`: committed when it resolves, rolled back when it throws;
 * `onRollbackFailed` runs when the rollback fails too (the connection must not be used again).
 */
export async function transactionOn<T>(connection: PoolConnection, work: (connection: PoolConnection) => Promise<T>, onRollbackFailed: () => void): Promise<T> {
  try {
    await connection.query('start transaction');
    const result = await work(connection);
    await connection.query('commit');
    return result;
  } catch (error) {
    await connection.query('rollback').catch(onRollbackFailed);
    throw error;
  }
}

/**
 * Runs `work` in a transaction on a pool connection: committed when it resolves, rolled back when it
 * throws. A connection whose rollback fails too is destroyed, not handed back to the pool.
 */
export async function inTransaction<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  let broken = false;
  try {
    return await transactionOn(connection, work, () => {
      broken = true;
    });
  } finally {
    if (broken) connection.destroy();
    else connection.release();
  }
}
