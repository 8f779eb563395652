import { asError } from '../../src/persistence/spi.js';
import type pg from 'pg';
import type { PostgresLogger } from './options.js';

/**
 * The one connection group commit writes through. Flushes are serial, so holding it saves a pool
 * checkout per flush and keeps the prepared write statements on one server backend. When it breaks it
 * is handed back to the pool as broken (the pool destroys it) and the next flush checks out a new one.
 */
export class WriterConnection {
  readonly #pool: pg.Pool;
  readonly #logger: PostgresLogger;
  #client: pg.PoolClient | undefined;
  #broken = false;

  constructor(pool: pg.Pool, logger: PostgresLogger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  /** Runs `work` on the writer connection; a failure that is not about the data retires the connection. */
  async use<T>(work: (client: pg.PoolClient) => Promise<T>, keepOn: (error: unknown) => boolean): Promise<T> {
    const client = await this.#acquire();
    try {
      return await work(client);
    } catch (error) {
      if (!keepOn(error)) this.#retire(error);
      throw error;
    }
  }

  release(): void {
    const client = this.#client;
    this.#client = undefined;
    client?.release(this.#broken ? new Error('writer connection broken') : undefined);
  }

  async #acquire(): Promise<pg.PoolClient> {
    if (this.#client && this.#broken) this.#retire(new Error('writer connection broken'));
    if (this.#client) return this.#client;
    const client = await this.#pool.connect();
    this.#broken = false;
    // A checked-out client has no pool listener: without this, its server connection dying while no
    // query runs would surface as an uncaught 'error' event and end the process.
    client.on('error', (error) => {
      if (this.#client !== client) return;
      this.#broken = true;
      this.#logger.warn({ err: error }, 'steadfast/postgres: the writer connection failed; the next flush opens a new one');
    });
    this.#client = client;
    return client;
  }

  #retire(error: unknown): void {
    const client = this.#client;
    this.#client = undefined;
    this.#broken = false;
    client?.release(asError(error));
  }
}
