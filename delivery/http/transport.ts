/**
 * `httpTransport`: a DeliveryTransport named 'http'. Each attempt is one request carrying the message
 * as JSON; a 2xx answer confirms the delivery (context.confirm), anything else — another status, a
 * network error, a timeout — rejects, so the delivery stays unconfirmed and is sent again on the
 * actor's redelivery tick (with backoff when the actor has `redeliveryBackoff`). Nothing is queued
 * here: the journal is the buffer, and a send never outlives `timeoutMs`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import type { DeliveryTransport, OutboundDelivery, TransportContext, TransportDestination } from '../transport.js';
import { HttpDestinationPolicy } from './allowed-hosts.js';
import { resolveHttpDestination, type ResolvedHttpDestination } from './destination.js';
import { DestinationNotAllowedError, HttpNetworkError, HttpStatusError, HttpTimeoutError, HttpTransportClosedError } from './errors.js';
import { resolveHttpTransportOptions, type HttpTransportOptions, type ResolvedHttpTransportOptions } from './options.js';
import { Slots } from './slots.js';

export const HEADER_SENDER = 'X-Steadfast-Sender';
export const HEADER_DELIVERY_ID = 'X-Steadfast-Delivery-Id';
export const HEADER_ATTEMPT = 'X-Steadfast-Attempt';
/** `${senderId}:${deliveryId}`: the same on every redelivery, so receivers can deduplicate. */
export const HEADER_IDEMPOTENCY_KEY = 'Idempotency-Key';

export class HttpTransport implements DeliveryTransport {
  readonly name = 'http';
  readonly #options: ResolvedHttpTransportOptions;
  readonly #slots: Slots;
  readonly #requests = new Set<http.ClientRequest>();
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #policy: HttpDestinationPolicy;
  #context: TransportContext | undefined;
  #logger: Logger | undefined;
  #closed = false;

  constructor(options: HttpTransportOptions = {}) {
    this.#options = resolveHttpTransportOptions(options);
    this.#slots = new Slots(this.#options.maxConcurrency);
    this.#policy = new HttpDestinationPolicy(this.#options.allowedHosts);
    // Every connection's name resolution is checked, so DNS cannot lead to a refused address.
    const lookup = this.#policy.lookup(this.#options.lookup);
    // Keep-alive: redelivery bursts to one endpoint reuse connections instead of opening one per message.
    this.#httpAgent = new http.Agent({ keepAlive: true, maxSockets: this.#options.maxConcurrency, lookup });
    this.#httpsAgent = new https.Agent({ keepAlive: true, maxSockets: this.#options.maxConcurrency, lookup });
  }

  /** Requests running now (for tests and metrics). */
  get activeRequests(): number {
    return this.#slots.active;
  }

  /** Throws InvalidOptionError for a malformed destination, DestinationNotAllowedError for a refused one (allowedHosts). */
  validateDestination(destination: TransportDestination<string>): void {
    this.#policy.checkUrl(resolveHttpDestination(destination).url);
  }

  async start(context: TransportContext): Promise<void> {
    this.#context = context;
    this.#logger = (this.#options.logger ?? context.logger).child({ transport: 'http' });
  }

  async send(destination: TransportDestination<string>, delivery: OutboundDelivery): Promise<void> {
    if (this.#closed) throw new HttpTransportClosedError();
    const context = this.#context;
    if (!context) throw new HttpTransportClosedError();
    const target = resolveHttpDestination(destination);
    // Again at send time: a delivery accepted before the policy changed is not sent where it now may not go.
    this.#policy.checkUrl(target.url);
    const started = performance.now();
    const release = await this.#slots.acquire(this.#options.timeoutMs, () => new HttpTimeoutError(target.label, this.#options.timeoutMs));
    let status: number;
    try {
      if (this.#closed) throw new HttpTransportClosedError();
      const remaining = Math.max(1, this.#options.timeoutMs - (performance.now() - started));
      status = await this.#request(target, delivery, remaining);
    } finally {
      release();
    }
    if (status < 200 || status > 299) throw new HttpStatusError(status, target.label);
    context.confirm(delivery.senderId, delivery.deliveryId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#slots.failAll(new HttpTransportClosedError());
    for (const request of this.#requests) request.destroy(new HttpTransportClosedError());
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #request(target: ResolvedHttpDestination, delivery: OutboundDelivery, timeoutMs: number): Promise<number> {
    const body = delivery.messageJson ?? Buffer.from(JSON.stringify(delivery.message));
    const isHttps = target.url.protocol === 'https:';
    const headers: http.OutgoingHttpHeaders = {
      ...target.headers,
      'Content-Type': 'application/json',
      'Content-Length': body.length,
      'User-Agent': this.#options.userAgent,
      [HEADER_SENDER]: delivery.senderId,
      [HEADER_DELIVERY_ID]: String(delivery.deliveryId),
      [HEADER_ATTEMPT]: String(delivery.attempt),
      [HEADER_IDEMPOTENCY_KEY]: `${delivery.senderId}:${delivery.deliveryId}`,
    };
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: { status: number } | { error: Error }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#requests.delete(request);
        if ('status' in outcome) resolve(outcome.status);
        else reject(outcome.error);
      };
      const request = (isHttps ? https : http).request(target.url, { method: target.method, headers, agent: isHttps ? this.#httpsAgent : this.#httpAgent }, (response) => {
        const status = response.statusCode ?? 0;
        // The body is not used, but it must be read to the end for the connection to be reused.
        response.resume();
        response.once('end', () => settle({ status }));
        response.once('error', (error) => settle({ error: new HttpNetworkError(target.label, error) }));
        response.once('close', () => {
          if (!response.complete) settle({ error: new HttpNetworkError(target.label, new Error('connection closed before the answer was complete')) });
        });
      });
      this.#requests.add(request);
      const timer = setTimeout(() => {
        const error = new HttpTimeoutError(target.label, this.#options.timeoutMs);
        settle({ error });
        request.destroy(error);
      }, timeoutMs);
      request.once('error', (error) => {
        const known = error instanceof HttpTimeoutError || error instanceof HttpTransportClosedError || error instanceof DestinationNotAllowedError;
        settle({ error: known ? error : new HttpNetworkError(target.label, error) });
      });
      request.end(body);
    }).catch((error: unknown) => {
      this.#logger?.debug({ err: (error as Error).message, deliveryId: delivery.deliveryId }, 'http delivery attempt failed');
      throw error;
    });
  }
}

/** Creates the HTTP DeliveryTransport (name 'http'). */
export function httpTransport(options: HttpTransportOptions = {}): HttpTransport {
  return new HttpTransport(options);
}
