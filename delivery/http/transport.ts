/**
 * `httpTransport`: a DeliveryTransport named 'http'. Each attempt is one request carrying the message
 * as JSON; a 2xx answer confirms the delivery (context.confirm), anything else — another status, a
 * network error, a timeout — rejects, so the delivery stays unconfirmed and is sent again on the
 * actor's redelivery tick (with backoff when the actor has `redeliveryBackoff`). Nothing is queued
 * here: the journal is the buffer, and a send never outlives `timeoutMs`.
 */
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { DeliveryTransport, OutboundDelivery, TransportContext, TransportDestination } from '../transport.js';
import { HttpDestinationPolicy } from './allowed-hosts.js';
import { HttpStatusError, HttpTimeoutError, HttpTransportClosedError } from './errors.js';
import { resolveHttpTransportOptions, type HttpTransportOptions, type ResolvedHttpTransportOptions } from './options.js';
import { DeliveryRequest } from './delivery-request.js';
import { Slots } from './slots.js';
import { type HttpTarget, HttpTargets } from './targets.js';

export const HEADER_SENDER = 'X-Steadfast-Sender';
export const HEADER_DELIVERY_ID = 'X-Steadfast-Delivery-Id';
export const HEADER_ATTEMPT = 'X-Steadfast-Attempt';
/** `${senderId}:${deliveryId}`: the same on every redelivery, so receivers can deduplicate. */
export const HEADER_IDEMPOTENCY_KEY = 'Idempotency-Key';
/** W3C Trace Context: the attempt's place in the delivery's trace (traced deliveries only). */
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

export class HttpTransport implements DeliveryTransport {
  readonly name = 'http';
  readonly #options: ResolvedHttpTransportOptions;
  readonly #slots: Slots;
  /** The running requests (close aborts them). */
  readonly #requests = new Set<DeliveryRequest>();
  readonly #agent: Agent;
  readonly #policy: HttpDestinationPolicy;
  readonly #targets = new HttpTargets();
  /** Targets the policy allowed: it never changes, so each is checked once (refusals are checked again). */
  readonly #allowed = new WeakSet<HttpTarget>();
  #context: TransportContext | undefined;
  #logger: Logger | undefined;
  #closed = false;

  constructor(options: HttpTransportOptions = {}) {
    this.#options = resolveHttpTransportOptions(options);
    this.#slots = new Slots(this.#options.maxConcurrency, this.#options.timeoutMs);
    this.#policy = new HttpDestinationPolicy(this.#options.allowedHosts);
    // Every connection's name resolution is checked, so DNS cannot lead to a refused address.
    const lookup = this.#policy.lookup(this.#options.lookup);
    // undici rather than node:http: about a fifth less CPU per delivery (bench/README.md, HTTP delivery).
    // Keep-alive connections, at most maxConcurrency per origin; the lookup goes to net/tls.connect.
    // undici's Agent never follows redirects (that takes its redirect interceptor): a 3xx fails.
    const { timeoutMs, maxConcurrency } = this.#options;
    this.#agent = new Agent({ connections: maxConcurrency, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { lookup, timeout: timeoutMs } });
  }

  /** Requests running now (for tests and metrics). */
  get activeRequests(): number {
    return this.#slots.active;
  }

  /** Throws InvalidOptionError for a malformed destination, DestinationNotAllowedError for a refused one (allowedHosts). */
  validateDestination(destination: TransportDestination<string>): void {
    this.#check(this.#targets.resolve(destination));
  }

  #check(target: HttpTarget): void {
    if (this.#allowed.has(target)) return;
    this.#policy.checkUrl(target.url);
    this.#allowed.add(target);
  }

  async start(context: TransportContext): Promise<void> {
    this.#context = context;
    this.#logger = (this.#options.logger ?? context.logger).child({ transport: 'http' });
  }

  async send(destination: TransportDestination<string>, delivery: OutboundDelivery): Promise<void> {
    if (this.#closed) throw new HttpTransportClosedError();
    const context = this.#context;
    if (!context) throw new HttpTransportClosedError();
    const target = this.#targets.resolve(destination);
    // Again at send time: a delivery accepted before the policy changed is not sent where it now may not go.
    this.#check(target);
    const started = performance.now();
    // A free slot is taken at once; only a send that waits in line pays for a promise (the line shares one timer).
    const release = this.#slots.tryAcquire() ?? (await this.#slots.acquire(() => new HttpTimeoutError(target.label, this.#options.timeoutMs)));
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
    for (const request of this.#requests) request.abort(new HttpTransportClosedError());
    await this.#agent.destroy();
  }

  #request(target: HttpTarget, delivery: OutboundDelivery, timeoutMs: number): Promise<number> {
    const body = delivery.messageJson ?? Buffer.from(JSON.stringify(delivery.message));
    const { trace } = delivery;
    const headers = [
      ...(trace === undefined ? target.headerPairs : withoutTraceHeaders(target.headerPairs)),
      'content-type',
      'application/json',
      'content-length',
      String(body.length),
      'user-agent',
      this.#options.userAgent,
      HEADER_SENDER,
      delivery.senderId,
      HEADER_DELIVERY_ID,
      String(delivery.deliveryId),
      HEADER_ATTEMPT,
      String(delivery.attempt),
      HEADER_IDEMPOTENCY_KEY,
      `${delivery.senderId}:${delivery.deliveryId}`,
    ];
    if (trace !== undefined) {
      headers.push(HEADER_TRACEPARENT, trace.traceparent);
      if (trace.tracestate !== undefined) headers.push(HEADER_TRACESTATE, trace.tracestate);
    }
    return new Promise<number>((resolve, reject) => {
      const request = new DeliveryRequest(target.label, delivery.deliveryId, this.#requests, this.#logger, this.#options.timeoutMs, resolve, reject);
      request.arm(timeoutMs);
      this.#agent.dispatch({ origin: target.origin, path: target.path, method: target.method, headers, body }, request);
    });
  }
}

/** A traced delivery's own trace headers replace any the destination names. */
function withoutTraceHeaders(pairs: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i]!.toLowerCase();
    if (name !== HEADER_TRACEPARENT && name !== HEADER_TRACESTATE) kept.push(pairs[i]!, pairs[i + 1]!);
  }
  return kept;
}

/** Creates the HTTP DeliveryTransport (name 'http'). */
export function httpTransport(options: HttpTransportOptions = {}): HttpTransport {
  return new HttpTransport(options);
}
