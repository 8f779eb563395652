/**
 * What the PostgreSQL journal and snapshot store share: the pool (their own, or one passed in), the
 * schema migrated once before first use (a failed start, e.g. the server is down, is retried by the
 * next call), the health probe, and being closed.
 */
import type pg from 'pg';
import { prepareSchema } from './migrations.js';
import { PluginClosedError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { openPool, type PoolHandle } from './pool.js';

export class SchemaConnection {
  readonly #options: ResolvedOptions;
  readonly #handle: PoolHandle;
  #started: Promise<void> | undefined;
  #closed = false;

  constructor(
    options: ResolvedOptions,
    /** Named in the error a call after close() gets. */
    private readonly pluginName: string,
  ) {
    this.#options = options;
    this.#handle = openPool(options);
  }

  get pool(): pg.Pool {
    return this.#handle.pool;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(): Promise<void> {
    this.#started ??= prepareSchema(this.pool, this.#options.schema, this.#options);
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
  ready(): Promise<void> {
    this.assertOpen();
    return this.#started ?? this.start();
  }

  /** Migrated, also after close() began (writes accepted before close must still go out). */
  migrated(): Promise<void> {
    return this.#started ?? this.start();
  }

  assertOpen(): void {
    if (this.#closed) throw new PluginClosedError(this.pluginName);
  }

  /** Marks it closed at once (new calls fail); `release()` then ends the pool once the caller is done. */
  markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  release(): Promise<void> {
    return this.#handle.release();
  }
}

/**
 * The base of the PostgreSQL plugins: its options resolved, the schema, and the shared lifecycle
 * (`pool`, `start`, `ping`) through one SchemaConnection.
 */
export abstract class PostgresPlugin {
  readonly schema: string;
  protected readonly options: ResolvedOptions;
  protected readonly connection: SchemaConnection;

  protected constructor(options: ResolvedOptions, pluginName: string) {
    this.options = options;
    this.schema = options.schema;
    this.connection = new SchemaConnection(options, pluginName);
  }

  /** The pool in use (the one passed in, or the plugin's own). */
  get pool(): pg.Pool {
    return this.connection.pool;
  }

  start(): Promise<void> {
    return this.connection.start();
  }

  ping(): Promise<void> {
    return this.connection.ping();
  }
}
