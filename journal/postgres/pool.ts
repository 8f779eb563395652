import pg from 'pg';
import type { ResolvedOptions } from './options.js';

export interface PoolHandle {
  readonly pool: pg.Pool;
  /** Ends the pool only when the plugin created it; a shared pool belongs to whoever passed it. */
  release(): Promise<void>;
}

/**
 * Settings of the sessions of a pool the plugin creates. Every statement of the plugins reads by a
 * key (a stream's (persistence_id, sequence_nr) range in order, an ordering or tag range, one row by
 * id), so an ordered index scan is the plan they are written for. When the planner underestimates a
 * stream (a table not analyzed yet, or a large stream among many small ones, below the most-common
 * values of the statistics) it picks a bitmap scan and a top-N sort instead, which reads every row of
 * the stream from the page's start for every page: a recovery of 100 000 events read 100 000 rows for
 * its first page, 120 ms instead of 6 (bench/README.md, 2026-12-04). Without bitmap scans that plan is
 * not on offer. A pool passed in (`pool`) keeps its own settings: see README.
 */
const SESSION_OPTIONS = '-c enable_bitmapscan=off';

/**
 * Creates (or adopts) the pool. An idle client whose server connection dies emits 'error' on the pool;
 * without a listener that would crash the process, so it is logged and the pool replaces the client.
 * Several plugins may share one pool: each adds its own listener at most once per pool.
 */
export function openPool(options: ResolvedOptions): PoolHandle {
  const owned = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      ssl: options.ssl,
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs === 0 ? undefined : options.statementTimeoutMs,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      options: SESSION_OPTIONS,
    });
  if (!listening.has(pool)) {
    listening.add(pool);
    pool.on('error', (error) => {
      options.logger.warn({ err: error }, 'steadfast/postgres: an idle connection failed; the pool replaces it');
    });
  }
  let ended = false;
  return {
    pool,
    async release() {
      if (!owned || ended) return;
      ended = true;
      await pool.end();
    },
  };
}

const listening = new WeakSet<pg.Pool>();

/** SQLSTATE of a server error, if the error came from the server at all. */
export function sqlState(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code)) {
    return error.code;
  }
  return undefined;
}

/**
 * Errors caused by what one write contains (data exceptions, integrity violations, limits such as an
 * oversized index row), as opposed to the connection or the server being unwell. Only these are worth
 * isolating write by write; everything else fails the whole call.
 */
export function isContentError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23') || state.startsWith('54'));
}
