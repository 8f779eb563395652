import { asError, InvalidOptionError, type Lease } from '../../src/persistence/spi.js';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { PluginClosedError } from './errors.js';
import type { MysqlLogger, ResolvedOptions } from './options.js';
import { openConnection } from './pool.js';
import { namedLock } from './sql-names.js';

/** How often a connection holding leases proves it is alive with `select 1`. */
const CHECK_INTERVAL_MS = 1000;
/** A lease query without an answer in this time counts as a lost connection. */
const QUERY_TIMEOUT_MS = 5000;
/**
 * Server side: a session idle this long is closed, which frees its named locks. The check above keeps
 * a live holder busy every second, so only a holder that vanished without closing its socket (network
 * cut, host gone) gets there. A process that dies on a live host closes its socket and frees them at once.
 */
const SESSION_WAIT_TIMEOUT_S = 10;

export interface AdvisoryLeaseTimings {
  readonly checkIntervalMs: number;
  readonly queryTimeoutMs: number;
}

/** The lock name of a lease: hashed with the database, as named locks are server-wide. */
export function leaseLockName(database: string, name: string): string {
  return namedLock('lease', database, name);
}

/**
 * Which of `names` any session holds (their lock names in `database`), in one statement of
 * `IS_USED_LOCK`, which only looks: it takes nothing, so asking never makes a free lease seem held to
 * another asker. One column per name rather than a row per name: it needs neither JSON_TABLE nor a
 * table value constructor, whose syntax differs between MariaDB and MySQL. (performance_schema's
 * metadata_locks would list them on MySQL 8 but is off by default on MariaDB, and empty then.)
 */
export async function heldLeaseNames(pool: Pick<Pool, 'query'>, database: string, names: readonly string[]): Promise<ReadonlySet<string>> {
  const byLock = new Map(names.map((name) => [leaseLockName(database, name), name]));
  if (byLock.size === 0) return new Set();
  const locks = [...byLock.keys()];
  const sql = `select ${locks.map(() => 'is_used_lock(?) is not null').join(', ')}`;
  const [rows] = await pool.query<RowDataPacket[][]>({ sql, values: locks, rowsAsArray: true });
  const answers = rows[0] ?? [];
  return new Set(locks.flatMap((lock, index) => (Number(answers[index]) === 1 ? [byLock.get(lock)!] : [])));
}

/**
 * Leases as named locks (`GET_LOCK(name, 0)`) on one connection of their own, never one of the pool's,
 * whose sessions are reused by other work and would keep or drop locks by accident. A named lock lives
 * as long as its session: when the process dies, the server ends the session and the lock is free.
 *
 * All leases of one journal share that connection, so losing it loses them all: the connection's
 * 'error' and 'end' events, a failed or unanswered lease query, and a `select 1` every second while
 * leases are held detect it, and every lease's `lost` resolves. The next acquire opens a new connection.
 */
export class AdvisoryLeases {
  readonly #options: ResolvedOptions;
  readonly #timings: AdvisoryLeaseTimings;
  /** Names held or being acquired here: GET_LOCK is re-entrant within a session, so the check is ours. */
  readonly #names = new Set<string>();
  #connection: Promise<LeaseConnection> | undefined;
  #closed = false;

  constructor(options: ResolvedOptions, timings: Partial<AdvisoryLeaseTimings> = {}) {
    this.#options = options;
    this.#timings = { checkIntervalMs: timings.checkIntervalMs ?? CHECK_INTERVAL_MS, queryTimeoutMs: timings.queryTimeoutMs ?? QUERY_TIMEOUT_MS };
  }

  async acquire(name: string): Promise<Lease | undefined> {
    if (this.#closed) throw new PluginClosedError('mysqlJournal');
    if (typeof name !== 'string' || name.length === 0 || name.length > 1000) {
      throw new InvalidOptionError(`a lease name must be a non-empty string of at most 1000 characters, got ${JSON.stringify(name)}`);
    }
    if (this.#names.has(name)) return undefined;
    this.#names.add(name);
    let lease: MysqlLease | undefined;
    try {
      const connection = await this.#open();
      const lock = leaseLockName(this.#options.database, name);
      const [rows] = await connection.query('select get_lock(?, 0) as locked', [lock]);
      if (rows[0]?.locked !== 1) return undefined;
      if (this.#closed || connection.broken) return undefined;
      lease = new MysqlLease(name, lock, connection, () => this.#names.delete(name));
      connection.leases.add(lease);
      return lease;
    } finally {
      if (!lease) this.#names.delete(name);
    }
  }

  /** Ends the connection, which frees every lock; the leases count as released, not lost. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#connection;
    this.#connection = undefined;
    const connection = await pending?.catch(() => undefined);
    await connection?.end();
  }

  async #open(): Promise<LeaseConnection> {
    const current = await this.#connection?.catch(() => undefined);
    if (current && !current.broken) return current;
    const opening = openConnection(this.#options).then(async (raw) => {
      const connection = new LeaseConnection(raw, this.#options.logger, this.#timings);
      await connection.query(`set session wait_timeout = ${SESSION_WAIT_TIMEOUT_S}`);
      return connection;
    });
    this.#connection = opening;
    opening.catch(() => {
      if (this.#connection === opening) this.#connection = undefined;
    });
    return opening;
  }
}

class LeaseConnection {
  readonly leases = new Set<MysqlLease>();
  readonly #connection: Connection;
  readonly #logger: MysqlLogger;
  readonly #timings: AdvisoryLeaseTimings;
  #timer: NodeJS.Timeout | undefined;
  #pending = 0;
  #broken = false;
  #ending = false;

  constructor(connection: Connection, logger: MysqlLogger, timings: AdvisoryLeaseTimings) {
    this.#connection = connection;
    this.#logger = logger;
    this.#timings = timings;
    connection.on('error', (error: unknown) => this.fail(asError(error)));
    connection.on('end', () => this.fail(new Error('the lease connection to MySQL ended')));
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** mysql2 runs a connection's queries in order; each one has the lease timeout. */
  async query(sql: string, values: unknown[] = []): Promise<[RowDataPacket[]]> {
    if (this.#broken) throw new Error('the lease connection to MySQL is broken');
    this.#pending++;
    try {
      const [rows] = await this.#connection.query<RowDataPacket[]>({ sql, values, timeout: this.#timings.queryTimeoutMs });
      return [rows];
    } catch (error) {
      // An unanswered or failed lease query leaves the state of the locks unknown: the session must go,
      // so that the server frees whatever it still holds, and the holders learn their leases are lost.
      this.fail(asError(error));
      throw error;
    } finally {
      this.#pending--;
    }
  }

  /** Starts the liveness check while at least one lease is held. */
  watch(): void {
    if (this.#timer || this.#broken) return;
    this.#timer = setInterval(() => {
      if (this.leases.size === 0) return this.#unwatch();
      if (this.#pending === 0) this.query('select 1').catch(() => {});
    }, this.#timings.checkIntervalMs);
    this.#timer.unref();
  }

  removed(lease: MysqlLease): void {
    this.leases.delete(lease);
    if (this.leases.size === 0) this.#unwatch();
  }

  fail(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#unwatch();
    const lost = [...this.leases];
    this.leases.clear();
    if (!this.#ending && lost.length > 0) {
      this.#logger.warn({ err: error, leases: lost.map((lease) => lease.name) }, 'steadfast/mysql: the lease connection failed; its leases are lost');
    }
    for (const lease of lost) lease.markLost(error);
    this.#connection.destroy();
  }

  async end(): Promise<void> {
    this.#ending = true;
    this.#unwatch();
    const held = this.leases.size > 0;
    for (const lease of [...this.leases]) lease.markReleased();
    this.leases.clear();
    if (this.#broken) return;
    // The server frees a closed session's locks a moment after the goodbye, not at it: released here,
    // they are free for the next holder once close() resolved (another process acquiring right away).
    if (held) await this.#connection.query({ sql: 'select release_all_locks()', timeout: this.#timings.queryTimeoutMs }).catch(() => {});
    this.#broken = true;
    const ended = this.#connection.end().catch(() => {});
    // A dead network would keep end() waiting for the server; the socket is cut after a moment.
    const timer = setTimeout(() => this.#connection.destroy(), 2000);
    await ended;
    clearTimeout(timer);
  }

  #unwatch(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

class MysqlLease implements Lease {
  readonly lost: Promise<Error>;
  #state: 'held' | 'released' | 'lost' = 'held';
  #resolveLost!: (error: Error) => void;

  constructor(
    readonly name: string,
    readonly lock: string,
    private readonly connection: LeaseConnection,
    private readonly forget: () => void,
  ) {
    this.lost = new Promise<Error>((resolve) => (this.#resolveLost = resolve));
    connection.watch();
  }

  get held(): boolean {
    return this.#state === 'held';
  }

  async release(): Promise<void> {
    if (this.#state !== 'held') return;
    this.markReleased();
    this.connection.removed(this);
    // If the unlock fails, the connection is failed and dropped, which frees the lock on the server too.
    await this.connection.query('select release_lock(?)', [this.lock]).catch(() => {});
  }

  markReleased(): void {
    if (this.#state !== 'held') return;
    this.#state = 'released';
    this.forget();
  }

  markLost(error: Error): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.forget();
    this.#resolveLost(error);
  }
}
