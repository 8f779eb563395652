import { asError, InvalidOptionError, type Lease } from '../../src/persistence/spi.js';
import pg from 'pg';
import { PluginClosedError } from './errors.js';
import type { PostgresLogger, ResolvedOptions } from './options.js';
import { advisoryLockKey } from './sql-names.js';

/** How often a connection holding leases proves it is alive with `select 1`. */
const CHECK_INTERVAL_MS = 1000;
/** A lease query (try-lock, unlock, the check) without an answer in this time counts as a lost connection. */
const QUERY_TIMEOUT_MS = 5000;
/**
 * Server side, per session: how soon PostgreSQL notices a holder that vanished without closing its
 * socket (network cut, host gone), so that its locks are freed. A process that dies on a live host
 * closes its socket and frees them at once.
 */
const SESSION_SETTINGS = 'set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 2; set tcp_keepalives_count = 3; set tcp_user_timeout = 10000';

export interface AdvisoryLeaseTimings {
  readonly checkIntervalMs: number;
  readonly queryTimeoutMs: number;
}

/**
 * The lock key of a lease: FNV-1a 64 over the schema and the name, so every process computes the same
 * key, and the same name in two schemas (or a journal's own write/migration locks) never meet.
 */
export function leaseLockKey(schema: string, name: string): string {
  return advisoryLockKey('lease', `${schema}\0${name}`);
}

/**
 * A bigint advisory lock shows in pg_locks as classid = its high 32 bits, objid = its low 32 bits,
 * objsubid = 1, in the current database.
 */
const HELD_LEASES = `
  select k::text as key from unnest($1::int8[]) as k
   where exists (select 1 from pg_locks l
                  where l.locktype = 'advisory' and l.granted and l.objsubid = 1
                    and l.database = (select oid from pg_database where datname = current_database())
                    and l.classid = ((k >> 32) & 4294967295)::oid and l.objid = (k & 4294967295)::oid)`;

/** Which of `names` are held by any session (their lock keys in `schema`), in one query. */
export async function heldLeaseNames(pool: Pick<pg.Pool, 'query'>, schema: string, names: readonly string[]): Promise<ReadonlySet<string>> {
  const byKey = new Map(names.map((name) => [leaseLockKey(schema, name), name]));
  if (byKey.size === 0) return new Set();
  const result = await pool.query<{ key: string }>(HELD_LEASES, [[...byKey.keys()]]);
  return new Set(result.rows.map((row) => byKey.get(row.key)!));
}

/**
 * Leases as session-level advisory locks (`pg_try_advisory_lock`) on one connection of their own —
 * never one of the pool's, whose sessions are reused by other work and would keep or drop locks by
 * accident. A lock lives as long as its session: when the process dies, PostgreSQL ends the session and
 * the lock is free for the next process that tries.
 *
 * All leases of one journal share that connection, so losing it loses them all: the client's 'error'
 * and 'end' events, a failed or unanswered lease query, and a `select 1` every second while leases are
 * held detect it, and every lease's `lost` resolves. The next acquire opens a new connection.
 */
export class AdvisoryLeases {
  readonly #options: ResolvedOptions;
  readonly #logger: PostgresLogger;
  readonly #timings: AdvisoryLeaseTimings;
  /** Names held or being acquired through this journal: a session re-acquires its own locks, so the check is ours. */
  readonly #names = new Set<string>();
  #connection: LeaseConnection | undefined;
  #closed = false;

  constructor(options: ResolvedOptions, timings: Partial<AdvisoryLeaseTimings> = {}) {
    this.#options = options;
    this.#logger = options.logger;
    this.#timings = { checkIntervalMs: timings.checkIntervalMs ?? CHECK_INTERVAL_MS, queryTimeoutMs: timings.queryTimeoutMs ?? QUERY_TIMEOUT_MS };
  }

  async acquire(name: string): Promise<Lease | undefined> {
    if (this.#closed) throw new PluginClosedError('postgresJournal');
    if (typeof name !== 'string' || name.length === 0 || name.length > 1000) {
      throw new InvalidOptionError(`a lease name must be a non-empty string of at most 1000 characters, got ${JSON.stringify(name)}`);
    }
    if (this.#names.has(name)) return undefined;
    this.#names.add(name);
    let lease: PostgresLease | undefined;
    try {
      const connection = await this.#open();
      const key = leaseLockKey(this.#options.schema, name);
      const locked = await connection.query<{ locked: boolean }>('select pg_try_advisory_lock($1::int8) as locked', [key]);
      if (locked.rows[0]?.locked !== true) return undefined;
      // Closed or broken meanwhile: the session (and the lock with it) is going away; nothing to hand out.
      if (this.#closed || connection.broken) return undefined;
      lease = new PostgresLease(name, key, connection, () => this.#names.delete(name));
      connection.leases.add(lease);
      return lease;
    } finally {
      if (!lease) this.#names.delete(name);
    }
  }

  /** Ends the connection, which frees every lock; the leases count as released, not lost. */
  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.end();
  }

  async #open(): Promise<LeaseConnection> {
    if (this.#connection && !this.#connection.broken) return this.#connection;
    const client = new pg.Client(this.#clientConfig());
    const connection = new LeaseConnection(client, this.#logger, this.#timings);
    this.#connection = connection;
    try {
      await client.connect();
      await client.query(SESSION_SETTINGS);
    } catch (error) {
      connection.fail(asError(error));
      if (this.#connection === connection) this.#connection = undefined;
      throw error;
    }
    return connection;
  }

  /** The plugin's connection settings; with a shared pool, that pool's (the lease client is still its own). */
  #clientConfig(): pg.ClientConfig {
    const options = this.#options;
    const base: pg.ClientConfig =
      options.pool !== undefined
        ? { ...(options.pool as unknown as { options: pg.ClientConfig }).options }
        : { connectionString: options.connectionString, ssl: options.ssl, application_name: options.applicationName };
    // Named apart from the pool's sessions, so an operator (or a test) can tell the session that holds the leases.
    const application_name = base.application_name === undefined ? undefined : `${base.application_name}-leases`;
    return {
      ...base,
      application_name,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: this.#timings.queryTimeoutMs,
      statement_timeout: this.#timings.queryTimeoutMs,
    };
  }
}

class LeaseConnection {
  readonly leases = new Set<PostgresLease>();
  readonly #client: pg.Client;
  readonly #logger: PostgresLogger;
  readonly #timings: AdvisoryLeaseTimings;
  #timer: NodeJS.Timeout | undefined;
  /** Queries run one after another (pg deprecates overlapping queries on one client). */
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #broken = false;
  #ending = false;

  constructor(client: pg.Client, logger: PostgresLogger, timings: AdvisoryLeaseTimings) {
    this.#client = client;
    this.#logger = logger;
    this.#timings = timings;
    client.on('error', (error) => this.fail(error));
    client.on('end', () => this.fail(new Error('the lease connection to PostgreSQL ended')));
  }

  get broken(): boolean {
    return this.#broken;
  }

  query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.#pending++;
    const run = this.#tail.then(() => this.#run<R>(text, values));
    this.#tail = run.catch(() => {}).finally(() => this.#pending--);
    return run;
  }

  async #run<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#broken) throw new Error('the lease connection to PostgreSQL is broken');
    try {
      return await this.#client.query<R>(text, values);
    } catch (error) {
      // An unanswered or failed lease query leaves the state of the locks unknown: the session must go,
      // so that the server frees whatever it still holds, and the holders learn their leases are lost.
      this.fail(asError(error));
      throw error;
    }
  }

  /** Starts the liveness check while at least one lease is held. */
  watch(): void {
    if (this.#timer || this.#broken) return;
    this.#timer = setInterval(() => {
      if (this.leases.size === 0) return this.#unwatch();
      // A query still waiting for its answer is the check already (its timeout fails the connection).
      if (this.#pending === 0) this.query('select 1').catch(() => {});
    }, this.#timings.checkIntervalMs);
    this.#timer.unref();
  }

  removed(lease: PostgresLease): void {
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
      this.#logger.warn({ err: error, leases: lost.map((lease) => lease.name) }, 'steadfast/postgres: the lease connection failed; its leases are lost');
    }
    for (const lease of lost) lease.markLost(error);
    this.#destroy();
  }

  async end(): Promise<void> {
    this.#ending = true;
    this.#unwatch();
    for (const lease of [...this.leases]) lease.markReleased();
    this.leases.clear();
    if (this.#broken) return;
    this.#broken = true;
    const ended = this.#client.end().catch(() => {});
    // A dead network would keep end() waiting for the server; the socket is cut after a moment.
    const timer = setTimeout(() => this.#destroy(), 2000);
    await ended;
    clearTimeout(timer);
  }

  #unwatch(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #destroy(): void {
    (this.#client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

class PostgresLease implements Lease {
  readonly lost: Promise<Error>;
  #state: 'held' | 'released' | 'lost' = 'held';
  #resolveLost!: (error: Error) => void;

  constructor(
    readonly name: string,
    readonly key: string,
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
    await this.connection.query('select pg_advisory_unlock($1::int8)', [this.key]).catch(() => {});
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
