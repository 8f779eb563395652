import type { Connection } from 'mysql2/promise';
import type { ResolvedOptions } from './options.js';
import { OrderingLock, WRITER_WAIT_TIMEOUT_S } from './ordering-lock.js';
import { openConnection } from './pool.js';
import { quoteIdent } from './sql-names.js';

/** A writer idle this long is reopened at its next flush, before the server ends its session (WRITER_WAIT_TIMEOUT_S). */
const REOPEN_AFTER_IDLE_MS = (WRITER_WAIT_TIMEOUT_S * 1000) / 2;

interface Session {
  readonly connection: Connection;
  readonly lock: OrderingLock;
}

/**
 * The one connection group commit writes through, opened by the plugin (also when a pool is shared)
 * because a flush is sent as one multi-statement round trip, which mysql2 allows only on connections
 * opened with `multipleStatements`, and because its session holds the ordering lock across flushes
 * (ordering-lock.ts). Flushes are serial. When it breaks it is destroyed (which frees the lock) and the
 * next flush opens a new one.
 */
export class WriterConnection {
  readonly #options: ResolvedOptions;
  #session: Promise<Session> | undefined;
  #broken = false;
  #lastUsed = 0;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** Runs `work` on the writer's session; a failure that is not about the data retires the connection. */
  async use<T>(work: (connection: Connection, lock: OrderingLock) => Promise<T>, keepOn: (error: unknown) => boolean): Promise<T> {
    const session = await this.#acquire();
    try {
      return await work(session.connection, session.lock);
    } catch (error) {
      if (!keepOn(error)) this.#retire();
      throw error;
    } finally {
      this.#lastUsed = performance.now();
    }
  }

  async close(): Promise<void> {
    const pending = this.#session;
    this.#session = undefined;
    const session = await pending?.catch(() => undefined);
    session?.lock.dispose();
    // Ending the session frees the ordering lock if it is still held.
    await session?.connection.end().catch(() => session.connection.destroy());
  }

  #acquire(): Promise<Session> {
    if (this.#session && (this.#broken || performance.now() - this.#lastUsed > REOPEN_AFTER_IDLE_MS)) this.#retire();
    if (this.#session) return this.#session;
    this.#broken = false;
    const opening: Promise<Session> = this.#open((error) => this.#markBroken(opening, error));
    this.#session = opening;
    opening.then(
      ({ connection }) => {
        // Without a listener, the server closing an idle connection would end the process.
        connection.on('error', (error: unknown) => this.#markBroken(opening, error));
      },
      () => {
        if (this.#session === opening) this.#session = undefined;
      },
    );
    return opening;
  }

  async #open(onBroken: (error: unknown) => void): Promise<Session> {
    // trace: false: mysql2 would capture a stack trace for every query (its caller's frames in error
    // stacks), ~20 µs of node CPU per flush of a single writer, about a fifth of it (bench/README.md,
    // 2026-12-04). Errors keep their message, code and errno.
    const connection = await openConnection(this.#options, { multipleStatements: true, trace: false });
    try {
      await connection.query(`set session wait_timeout = ${WRITER_WAIT_TIMEOUT_S}`);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    const lock = new OrderingLock(connection, this.#options.database, quoteIdent(this.#options.database), onBroken);
    this.#lastUsed = performance.now();
    return { connection, lock };
  }

  #markBroken(session: Promise<Session>, error: unknown): void {
    if (this.#session !== session) return;
    this.#broken = true;
    this.#options.logger.warn({ err: error }, 'steadfast/mysql: the writer connection failed; the next flush opens a new one');
  }

  #retire(): void {
    const pending = this.#session;
    this.#session = undefined;
    this.#broken = false;
    void pending?.then(
      ({ connection, lock }) => {
        lock.dispose();
        connection.destroy();
      },
      () => {},
    );
  }
}
