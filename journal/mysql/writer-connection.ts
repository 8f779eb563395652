import type { Connection } from 'mysql2/promise';
import type { ResolvedOptions } from './options.js';
import { openConnection } from './pool.js';

/**
 * The one connection group commit writes through, opened by the plugin (also when a pool is shared)
 * because a flush is sent as one multi-statement round trip (`START TRANSACTION; ...; COMMIT`), which
 * mysql2 allows only on connections opened with `multipleStatements`. Flushes are serial. When it
 * breaks it is destroyed and the next flush opens a new one.
 */
export class WriterConnection {
  readonly #options: ResolvedOptions;
  #connection: Promise<Connection> | undefined;
  #broken = false;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** Runs `work` on the writer connection; a failure that is not about the data retires the connection. */
  async use<T>(work: (connection: Connection) => Promise<T>, keepOn: (error: unknown) => boolean): Promise<T> {
    const connection = await this.#acquire();
    try {
      return await work(connection);
    } catch (error) {
      if (!keepOn(error)) this.#retire();
      throw error;
    }
  }

  async close(): Promise<void> {
    const pending = this.#connection;
    this.#connection = undefined;
    const connection = await pending?.catch(() => undefined);
    await connection?.end().catch(() => connection.destroy());
  }

  #acquire(): Promise<Connection> {
    if (this.#connection && this.#broken) this.#retire();
    if (this.#connection) return this.#connection;
    this.#broken = false;
    const opening = openConnection(this.#options, { multipleStatements: true });
    this.#connection = opening;
    opening.then(
      (connection) => {
        // Without a listener, the server closing an idle connection would end the process.
        connection.on('error', (error: unknown) => {
          if (this.#connection !== opening) return;
          this.#broken = true;
          this.#options.logger.warn({ err: error }, 'steadfast/mysql: the writer connection failed; the next flush opens a new one');
        });
      },
      () => {
        if (this.#connection === opening) this.#connection = undefined;
      },
    );
    return opening;
  }

  #retire(): void {
    const pending = this.#connection;
    this.#connection = undefined;
    this.#broken = false;
    void pending?.then(
      (connection) => connection.destroy(),
      () => {},
    );
  }
}
