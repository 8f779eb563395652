/**
 * Global ordering in commit order (README, "Global ordering"): every session that inserts journal rows
 * or deletes them holds one named lock of the database (`GET_LOCK`, database-wide: any process, any
 * connection). Its holder draws orderings in JS, one after the other from the highest ordering it found
 * when it took the lock, and commits each flush before the next; it lets the lock go only after a
 * commit. So a session that takes the lock sees every earlier holder's rows committed, and orderings
 * follow commit order without a counter row updated in every transaction: the row update was what
 * made a single writer's flush cost 0.7–0.8 of one autocommit INSERT (bench/README.md, 2026-12-04).
 *
 * The writer keeps the lock across flushes while it is busy (a flush is then one plain INSERT) and lets
 * it go after IDLE_RELEASE_MS without a flush, or with the first flush after MAX_HOLD_MS, so writers of
 * other processes take turns of at most that long. A named lock lives as long as its session: a process
 * that dies closes its socket and the server frees the lock at once; a holder that vanished without
 * closing it (network cut) loses it when the server ends its idle session (WRITER_WAIT_TIMEOUT_S).
 */
import type { Connection, Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { OrderingLockTimeoutError } from './errors.js';
import { transactionOn } from './pool.js';
import { namedLock } from './sql-names.js';
import { toSafeNumber } from './row-codec.js';

/** How long a writer or a deletion waits for the lock (InnoDB's default row lock wait, which the counter row had). */
export const ORDERING_LOCK_WAIT_S = 50;
/** A writer without a flush for this long lets the lock go (one more round trip at the next flush). */
const IDLE_RELEASE_MS = 2;
/** A busy writer lets the lock go with its first flush after holding it this long, so others get turns. */
const MAX_HOLD_MS = 20;
/**
 * The writer session's `wait_timeout`: the server ends it after this long without a statement, which
 * frees the lock of a holder that vanished without closing its socket. A live writer never idles that
 * long while holding it (IDLE_RELEASE_MS); an idle one is reopened before (WriterConnection).
 */
export const WRITER_WAIT_TIMEOUT_S = 20;

export function orderingLockName(database: string): string {
  return namedLock('ordering', database);
}

/** The highest ordering ever handed out, as seen by the lock's holder: the journal's, or the floor deletions raised. */
function lastOrderingSql(d: string): string {
  return `select greatest(coalesce((select max(ordering) from ${d}.journal), 0), coalesce((select last_ordering from ${d}.journal_sequence where id = 1), 0)) as last_ordering`;
}

/**
 * Before a deletion, under the lock: raises the floor to the highest ordering, so that deleting the
 * newest rows never lets a later holder hand their orderings out again (a reader may have seen them).
 */
export function raiseFloorSql(d: string): string {
  return `update ${d}.journal_sequence set last_ordering = greatest(last_ordering, coalesce((select max(ordering) from ${d}.journal), 0)) where id = 1`;
}

/**
 * The ordering lock as held by the writer connection's session (one instance per connection: a new
 * connection holds nothing). Flushes are serial; between them, the idle timer may let the lock go.
 */
export class OrderingLock {
  readonly #connection: Connection;
  readonly #name: string;
  readonly #database: string;
  readonly #nextSql: string;
  readonly #onBroken: (error: unknown) => void;
  readonly #releaseSuffix: string;
  #held = false;
  #heldSince = 0;
  #next = 0;
  #busy = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(connection: Connection, database: string, quotedDatabase: string, onBroken: (error: unknown) => void) {
    this.#connection = connection;
    this.#database = database;
    this.#name = orderingLockName(database);
    this.#nextSql = `select get_lock(?, ?) as locked;\n${lastOrderingSql(quotedDatabase)}`;
    this.#onBroken = onBroken;
    // The name is hex and fixed characters (namedLock), safe as a literal.
    this.#releaseSuffix = `;\ndo release_lock('${this.#name}')`;
  }

  /** Takes the lock unless held and returns the next ordering to hand out. */
  async hold(): Promise<number> {
    this.#busy = true;
    if (this.#held) return this.#next;
    // One round trip: the read is harmless when the lock was not granted (its answer is then unused).
    let results: RowDataPacket[][];
    try {
      [results] = await this.#connection.query<RowDataPacket[][]>(this.#nextSql, [this.#name, ORDERING_LOCK_WAIT_S]);
    } catch (error) {
      // The lock may have been granted before the read failed: only a new session is sure to hold nothing.
      this.#onBroken(error);
      throw error;
    }
    if (Number(results[0]?.[0]?.locked) !== 1) throw new OrderingLockTimeoutError(this.#database, ORDERING_LOCK_WAIT_S);
    this.#held = true;
    this.#heldSince = performance.now();
    this.#next = toSafeNumber(results[1]?.[0]?.last_ordering ?? 0, 'last ordering') + 1;
    return this.#next;
  }

  /** What a flush appends to give the lock up once its statements succeeded: set when the holder's turn is over. */
  releaseAfter(): string {
    return performance.now() - this.#heldSince >= MAX_HOLD_MS ? this.#releaseSuffix : '';
  }

  /** The flush committed `count` orderings (and ran `releaseAfter()`'s suffix if it was `released`). */
  committed(count: number, released: boolean): void {
    this.#next += count;
    this.#busy = false;
    if (released) this.#held = false;
    else this.#armIdleRelease();
  }

  /** The flush stored nothing (its statements stopped before any release): the lock is still held. */
  failed(): void {
    this.#busy = false;
    if (this.#held) this.#armIdleRelease();
  }

  /** The connection is being destroyed: its session ends and the server frees the lock. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#held = false;
  }

  #armIdleRelease(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#releaseIdle(), IDLE_RELEASE_MS);
      this.#timer.unref();
    } else {
      this.#timer.refresh();
    }
  }

  #releaseIdle(): void {
    if (this.#busy || !this.#held) return;
    this.#held = false;
    // Queued on the connection before any later statement, so the next hold() takes the lock anew after it.
    // A failed release may leave it held: the connection is retired then (a later GET_LOCK would nest).
    this.#connection.query('do release_lock(?)', [this.#name]).catch(this.#onBroken);
  }
}

/**
 * Runs `work` in a transaction on a pool connection while holding the ordering lock, released after
 * commit or rollback (a deletion: see raiseFloorSql). A connection whose rollback or release fails is
 * destroyed, never handed back to the pool with the lock.
 */
export async function inTransactionUnderOrderingLock<T>(pool: Pool, database: string, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const name = orderingLockName(database);
  const connection = await pool.getConnection();
  let broken = true;
  try {
    const [rows] = await connection.query<RowDataPacket[]>('select get_lock(?, ?) as locked', [name, ORDERING_LOCK_WAIT_S]);
    broken = false;
    if (Number(rows[0]?.locked) !== 1) throw new OrderingLockTimeoutError(database, ORDERING_LOCK_WAIT_S);
    try {
      return await transactionOn(connection, work, () => {
        broken = true;
      });
    } finally {
      await connection.query('do release_lock(?)', [name]).catch(() => {
        broken = true;
      });
    }
  } finally {
    if (broken) connection.destroy();
    else connection.release();
  }
}
