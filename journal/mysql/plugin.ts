/**
 * What the MySQL journal and snapshot store share: the pool (their own, or one passed in), the
 * database migrated once before first use (a failed start, e.g. the server is down, is retried by the
 * next call), the health probe, and being closed.
 */
import type { Pool } from 'mysql2/promise';
import { PluginClosedError } from './errors.js';
import { prepareDatabase } from './migrations.js';
import type { ResolvedOptions } from './options.js';
import { openPool, type PoolHandle } from './pool.js';
import { quoteIdent } from './sql-names.js';

export abstract class MysqlPlugin {
  /** The database holding the tables. */
  readonly database: string;
  protected readonly options: ResolvedOptions;
  /** The database as a quoted identifier, for statements. */
  protected readonly quoted: string;
  readonly #handle: PoolHandle;
  #started: Promise<void> | undefined;
  #closed = false;

  protected constructor(
    options: ResolvedOptions,
    /** Named in the error a call after close() gets. */
    private readonly pluginName: string,
  ) {
    this.options = options;
    this.database = options.database;
    this.quoted = quoteIdent(options.database);
    this.#handle = openPool(options);
  }

  /** The pool in use (the one passed in, or the plugin's own). */
  get pool(): Pool {
    return this.#handle.pool;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  start(): Promise<void> {
    this.#started ??= prepareDatabase(this.options);
    this.#started.catch(() => {
      this.#started = undefined;
    });
    return this.#started;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.pool.query('select 1');
  }

  /** Open and migrated: the step before every query. */
  protected ready(): Promise<void> {
    this.assertOpen();
    return this.#started ?? this.start();
  }

  /** Migrated, also after close() began (writes accepted before close must still go out). */
  protected migrated(): Promise<void> {
    return this.#started ?? this.start();
  }

  protected assertOpen(): void {
    if (this.#closed) throw new PluginClosedError(this.pluginName);
  }

  /** Marks it closed at once (new calls fail); `releasePool()` then ends the pool once the caller is done. */
  protected markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  protected releasePool(): Promise<void> {
    return this.#handle.release();
  }
}
