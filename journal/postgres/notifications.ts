/**
 * Cross-process wake-up for live queries: every journal write statement calls `pg_notify(channel)`
 * inside its transaction (delivered at commit, dropped with a rollback), and a read journal LISTENs on
 * one connection of its own while it has live queries. A lost connection is retried with backoff; the
 * queries' polling covers the gap, so a notification is only ever a shortcut.
 */
import pg from 'pg';
import type { ResolvedOptions } from './options.js';

/** The channel a schema's writes notify: derived from the statement id, so always a plain identifier. */
export function notificationChannel(statementId: string): string {
  return `steadfast_events_${statementId}`;
}

const RETRY_MS = [100, 500, 2_000, 5_000];

export class EventNotifications {
  readonly #listeners = new Set<() => void>();
  #client: pg.Client | pg.PoolClient | undefined;
  #connecting: Promise<void> | undefined;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly channel: string,
  ) {}

  subscribe(listener: () => void): () => void {
    const subscription = () => listener();
    this.#listeners.add(subscription);
    if (this.#listeners.size === 1) this.#connect();
    return () => {
      this.#listeners.delete(subscription);
      if (this.#listeners.size === 0) void this.#disconnect();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#disconnect();
  }

  #connect(): void {
    if (this.#closed || this.#client !== undefined || this.#connecting !== undefined) return;
    this.#connecting = this.#open()
      .then((client) => {
        this.#attempt = 0;
        if (this.#listeners.size === 0 || this.#closed) return this.#end(client);
        this.#client = client;
        // Events may have been written while the connection was being made.
        this.#fire();
      })
      .catch((error: unknown) => {
        this.options.logger.debug({ err: error }, 'steadfast/postgres: LISTEN for live queries failed; they poll meanwhile');
        this.#scheduleRetry();
      })
      .finally(() => {
        this.#connecting = undefined;
      });
  }

  async #open(): Promise<pg.Client | pg.PoolClient> {
    let client: pg.Client | pg.PoolClient;
    if (this.options.pool !== undefined) client = await this.options.pool.connect();
    else {
      const own = new pg.Client({ connectionString: this.options.connectionString, ssl: this.options.ssl, application_name: `${this.options.applicationName}-listen` });
      await own.connect();
      client = own;
    }
    client.on('notification', () => this.#fire());
    client.on('error', (error) => {
      this.options.logger.debug({ err: error }, 'steadfast/postgres: the LISTEN connection failed; reconnecting');
      this.#dropClient(client);
      this.#scheduleRetry();
    });
    await client.query(`listen ${this.channel}`);
    return client;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#retry !== undefined) return;
    const delay = RETRY_MS[Math.min(this.#attempt++, RETRY_MS.length - 1)]!;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, delay);
  }

  #fire(): void {
    for (const listener of this.#listeners) listener();
  }

  #dropClient(client: pg.Client | pg.PoolClient): void {
    if (this.#client === client) this.#client = undefined;
    void this.#end(client);
  }

  async #disconnect(): Promise<void> {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await this.#end(client);
  }

  async #end(client: pg.Client | pg.PoolClient): Promise<void> {
    // A pooled connection that LISTENed must not be handed to anyone else: it is destroyed.
    if (this.options.pool !== undefined) (client as pg.PoolClient).release(true);
    else await client.end().catch(() => {});
  }
}
