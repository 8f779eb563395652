/**
 * `GET /events`: server-sent events for open dashboards. Every interval one snapshot (role, health,
 * outbox figures, rates) is taken — once, whatever the number of clients — and sent to each of them.
 *
 * Bounded: at most `maxClients` streams (more get 503 `too_many_event_clients`); a client that does
 * not read gets no queue, only the latest snapshot is kept for it (older ones are dropped: each
 * snapshot is complete), and one that has not taken a snapshot for `maxBlockedMs` is disconnected
 * (its EventSource reconnects). So memory is at most one socket buffer and one snapshot per client.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ServiceUnavailableError } from './errors.js';

export interface LiveEventsOptions {
  readonly maxClients: number;
  /** How often a snapshot is taken and sent while a client is connected, ms. */
  readonly intervalMs: number;
  /** A client whose socket stays full this long is disconnected, ms. */
  readonly maxBlockedMs: number;
  /** The snapshot to send (JSON); taken only while clients are connected. */
  readonly snapshot: () => Promise<unknown>;
  readonly logger: Logger;
}

interface Client {
  readonly response: ServerResponse;
  /** The latest frame it could not take yet (older ones are dropped). */
  pending: string | undefined;
  /** When its socket filled up (undefined: it takes what is sent). */
  blockedSince: number | undefined;
}

/** Browsers reconnect an EventSource after this, ms. */
const RETRY_MS = 3000;

export class LiveEvents {
  readonly #options: LiveEventsOptions;
  readonly #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #latest: string | undefined;
  #taking = false;
  #closed = false;

  constructor(options: LiveEventsOptions) {
    this.#options = options;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Throws 503 `too_many_event_clients` (or `shutting_down`) when no stream can be opened now. */
  admit(): void {
    if (this.#closed) throw new ServiceUnavailableError('shutting_down', 'the service is shutting down');
    if (this.#clients.size >= this.#options.maxClients) {
      throw new ServiceUnavailableError('too_many_event_clients', `${this.#options.maxClients} event streams are open already; close a dashboard, or retry later`, {
        retryAfterSeconds: 10,
      });
    }
  }

  /** Takes over `response` as an event stream. */
  open(response: ServerResponse): void {
    const client: Client = { response, pending: undefined, blockedSince: undefined };
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    response.write(`retry: ${RETRY_MS}\n\n`);
    this.#clients.add(client);
    response.on('close', () => this.#clients.delete(client));
    response.on('drain', () => {
      client.blockedSince = undefined;
      const pending = client.pending;
      client.pending = undefined;
      if (pending !== undefined) this.#write(client, pending);
    });
    if (this.#latest !== undefined) this.#write(client, this.#latest);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#tick(), this.#options.intervalMs);
      this.#timer.unref();
    }
    void this.#tick();
  }

  /** Ends every stream and takes no more. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }

  async #tick(): Promise<void> {
    if (this.#clients.size === 0) return this.#stopTimer();
    if (this.#taking) return;
    this.#taking = true;
    let frame: string;
    try {
      frame = `event: snapshot\ndata: ${JSON.stringify(await this.#options.snapshot())}\n\n`;
    } catch (error) {
      this.#options.logger.debug({ err: error }, 'dashboard snapshot failed; sending the next one');
      return;
    } finally {
      this.#taking = false;
    }
    this.#latest = frame;
    const now = Date.now();
    for (const client of this.#clients) {
      if (client.blockedSince === undefined) this.#write(client, frame);
      else if (now - client.blockedSince > this.#options.maxBlockedMs) client.response.destroy();
      else client.pending = frame;
    }
  }

  #write(client: Client, frame: string): void {
    if (!client.response.write(frame)) client.blockedSince ??= Date.now();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
