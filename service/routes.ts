/**
 * The API's routes. Every route validates its input completely before it touches the outbox, so a
 * request is either refused with nothing persisted, or persisted and answered with its delivery id.
 */
import { AskTimeoutError, InvalidOptionError } from '../src/actor/errors.js';
import { EventRejectedError, SequenceNrConflictError, SerializationError } from '../src/persistence/errors.js';
import { DeliveryNotDeadLetteredError, IdempotencyKeyReusedError, MaxUnconfirmedMessagesExceededError, UnknownTransportError } from '../delivery/errors.js';
import type { ExchangeCheck } from '../delivery/amqp/exchange-checks.js';
import { MAX_PAGE_SIZE, type InFlightDelivery } from '../delivery/outbox/outbox.js';
import type { DeliveryStatus } from '../delivery/outbox/outbox-protocol.js';
import type { JsonValue, RegisteredDestination, TransportDestination } from '../delivery/transport.js';
import { DestinationNotAllowedError } from '../delivery/http/errors.js';
import { traceCarrierOfHeaders } from '../delivery/tracing/trace-context.js';
import type { DestinationCheck } from './destination-policy.js';
import { deadLetterFilter, inFlightFilter, stateOf } from './delivery-filters.js';
import { shown } from './redaction.js';
import { BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError, TooManyRequestsError } from './errors.js';
import type { RequestContext, Route, RouteResult } from './http-server.js';
import type { ProjectionFigures } from '../src/query/projection-registry.js';
import { METRICS_CONTENT_TYPE, type ServiceMetrics } from './metrics.js';
import type { HealthReport } from './health.js';
import type { OutboxHolder } from './outbox-role.js';

export interface RouteDependencies {
  /** Absent on a standby (the outbox routes answer 503 `standby`), there after a takeover. */
  readonly outbox: OutboxHolder;
  readonly metrics: ServiceMetrics;
  health(): Promise<HealthReport>;
  /** A journal failure behind a failed submission, as the 503 to answer (`journal_unavailable` with its reason). */
  explainFailure?(error: unknown): ServiceUnavailableError | undefined;
  /** Gives up on a submission whose outbox stopped after a failed journal write (its ask would only time out). */
  guardSubmission?<T>(pending: Promise<T>): Promise<T>;
  brokerConnected(): boolean | undefined;
  rejectedConfirmations(): number;
  /** Offset and lag of the projections started in the service's actor system. */
  projections(): Promise<readonly ProjectionFigures[]>;
  /** Refuses destinations the service does not send to (destination-policy.ts), before anything is persisted. */
  readonly checkDestination?: DestinationCheck;
  /** With AMQP_URL: whether the broker has an exchange a new message names (the AMQP transport's checkExchange). */
  readonly checkExchange?: (exchange: string) => Promise<ExchangeCheck>;
}

const MESSAGE_FIELDS = new Set(['destination', 'payload', 'idempotencyKey']);
const MAX_KEY_LENGTH = 200;

const ok = (json: unknown, status = 200): RouteResult => ({ status, json });

export function apiRoutes(deps: RouteDependencies): Route[] {
  const { outbox, metrics } = deps;
  // outbox.get() throws 503 `standby` on a standby; it is synchronous, so the active path does not wait.
  return [
    { method: 'POST', path: '/messages', body: 'json', handle: (context) => submit(deps, context) },
    {
      method: 'GET',
      path: '/deliveries',
      body: 'none',
      handle: async ({ query }) => {
        const page = await queried(outbox.get().listInFlight({ ...pageOptions(query), where: inFlightFilter(query) }));
        return ok({ count: page.total, deliveries: page.items.map((d) => shown(describeInFlight(d))), nextAfter: page.nextAfter ?? null });
      },
    },
    {
      method: 'GET',
      path: '/deliveries/:id',
      body: 'none',
      handle: async ({ params }) => {
        const id = parseDeliveryId(params.id);
        const status = await queried(outbox.get().status(id));
        if (status.status === 'unknown') throw new NotFoundError('delivery_not_found', `no delivery ${id}`);
        return ok(shown(describeStatus(status)));
      },
    },
    {
      method: 'DELETE',
      path: '/deliveries/:id',
      body: 'none',
      handle: async ({ params }) => {
        const id = parseDeliveryId(params.id);
        const status = await queried(outbox.get().cancel(id));
        if (status.status === 'unknown') throw new NotFoundError('delivery_not_found', `no delivery ${id}`);
        if (status.status !== 'cancelled') {
          const deadLetter = status.status === 'dead-lettered' ? `; DELETE /dead-letters/${id} cancels a dead letter` : '';
          throw new ConflictError(
            'delivery_not_in_flight',
            `delivery ${id} is ${status.status}, not in flight: there is nothing to cancel (GET /deliveries/${id} tells more)${deadLetter}`,
          );
        }
        return ok(shown(describeStatus(status)));
      },
    },
    {
      method: 'GET',
      path: '/dead-letters',
      body: 'none',
      handle: async ({ query }) => {
        const page = await queried(outbox.get().listDeadLetters({ ...pageOptions(query), where: deadLetterFilter(query) }));
        return ok({
          count: page.total,
          deadLetters: page.items.map((d) => shown({ ...d, deadLetteredAt: new Date(d.deadLetteredAt).toISOString() })),
          nextAfter: page.nextAfter ?? null,
        });
      },
    },
    {
      method: 'POST',
      path: '/dead-letters/redrive',
      body: 'optional-json',
      handle: async () => ok({ redriven: await outbox.get().redrive().catch(refusedRedrive) }),
    },
    {
      method: 'POST',
      path: '/dead-letters/:id/redrive',
      body: 'optional-json',
      handle: async ({ params }) => {
        const id = parseDeliveryId(params.id);
        const redriven = await outbox.get().redrive(id).catch(refusedRedrive);
        return ok({ redriven });
      },
    },
    {
      method: 'DELETE',
      path: '/dead-letters/:id',
      body: 'none',
      handle: async ({ params }) => {
        const id = parseDeliveryId(params.id);
        const status = await queried(outbox.get().cancelDeadLetter(id));
        if (status.status !== 'cancelled') throw new NotFoundError('not_dead_lettered', `delivery ${id} is ${statusText(status)}, not a dead letter: there is nothing to cancel`);
        return ok(shown(describeStatus(status)));
      },
    },
    {
      method: 'GET',
      path: '/healthz',
      body: 'none',
      handle: async () => {
        const report = await deps.health();
        return ok(report, report.status === 'unavailable' ? 503 : 200);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      body: 'none',
      handle: async () => {
        // A standby has no outbox figures; the rest (role, requests, broker) it reports all the same.
        const current = outbox.current;
        const stats = current === undefined ? undefined : await queried(current.stats());
        return {
          status: 200,
          text: await metrics.render({
            outbox: stats,
            role: outbox.role,
            brokerConnected: deps.brokerConnected(),
            rejectedConfirmations: deps.rejectedConfirmations(),
            projections: await deps.projections(),
          }),
          contentType: METRICS_CONTENT_TYPE,
        };
      },
    },
  ];
}

async function submit(
  { outbox: holder, metrics, checkDestination, checkExchange, explainFailure, guardSubmission }: RouteDependencies,
  context: RequestContext,
): Promise<RouteResult> {
  const { body, headers } = context;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('invalid_request', 'the body must be a JSON object like {"destination": {...}, "payload": ..., "idempotencyKey": "..."}');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!MESSAGE_FIELDS.has(key)) throw new BadRequestError('invalid_request', `unknown field "${key}"; a message has destination, payload and optionally idempotencyKey`);
  }
  const destination = fields.destination;
  if (destination === null || typeof destination !== 'object' || Array.isArray(destination) || typeof (destination as { transport?: unknown }).transport !== 'string') {
    throw new BadRequestError(
      'invalid_destination',
      'destination must be an object naming its transport, e.g. {"transport": "http", "url": "https://example.com/hook"} or {"transport": "amqp", "queue": "orders"}',
    );
  }
  checkDestination?.(destination as TransportDestination);
  if (!('payload' in fields)) throw new BadRequestError('invalid_request', 'payload is required (any JSON value)');
  // headersDistinct (built on first use) only when the header is there: it tells repeated ones apart.
  const idempotencyKey = idempotencyKeyOf(fields.idempotencyKey, headers['idempotency-key'] === undefined ? undefined : context.headersDistinct['idempotency-key']);
  // Refused at once (503 standby, recovering, journal_unavailable) when this node cannot accept now.
  holder.forWriting();
  const { transport, exchange } = destination as TransportDestination;
  if (checkExchange !== undefined && transport === 'amqp' && typeof exchange === 'string' && exchange !== '') await refuseUnknownExchange(checkExchange, exchange);
  // Asked again after the exchange check: the node may have stepped down or lost its journal meanwhile.
  const outbox = holder.forWriting();
  const started = performance.now();
  let accepted: Awaited<ReturnType<typeof outbox.send>>;
  try {
    // A malformed traceparent is ignored (W3C Trace Context), never a reason to refuse the message.
    const trace = headers.traceparent === undefined ? undefined : traceCarrierOfHeaders(context.headersDistinct.traceparent, context.headersDistinct.tracestate);
    const sent = outbox.send(destination as RegisteredDestination, fields.payload as JsonValue, { idempotencyKey, trace });
    accepted = await (guardSubmission ? guardSubmission(sent) : sent);
  } catch (error) {
    if (error instanceof DestinationNotAllowedError) throw new BadRequestError('destination_not_allowed', error.message);
    if (error instanceof UnknownTransportError)
      throw new BadRequestError('unknown_transport', `${error.message.split(';')[0]} (HTTP destinations use "http"; "amqp" needs AMQP_URL)`);
    if (error instanceof InvalidOptionError) throw new BadRequestError('invalid_destination', error.message);
    if (error instanceof SerializationError) throw new BadRequestError('invalid_payload', error.message);
    // The journal itself refused the content (PostgreSQL's jsonb takes no \u0000): retrying cannot help.
    if (error instanceof EventRejectedError) throw new BadRequestError('invalid_payload', `the journal refused to store this payload: ${error.message}`);
    if (error instanceof MaxUnconfirmedMessagesExceededError) throw tooMany(error);
    if (error instanceof IdempotencyKeyReusedError) {
      throw new ConflictError(
        'idempotency_key_reused',
        `${error.message}; nothing was persisted (the key's first request stands${error.deliveryId === undefined ? '' : ` as delivery ${error.deliveryId}`})`,
      );
    }
    // This process stepped down (lost the outbox lease) while the message was on its way.
    if (holder.current !== outbox) throw holder.standbyError();
    throw explainFailure?.(error) ?? unavailable(error);
  }
  if (accepted.duplicate) metrics.duplicate();
  else metrics.submitted((performance.now() - started) / 1000);
  return ok({ deliveryId: accepted.deliveryId, duplicate: accepted.duplicate }, 202);
}

/**
 * An amqp destination's exchange must exist when the message is accepted: a typo would otherwise be
 * retried forever. A broker that cannot be asked right now does not block accepting (the journal is the
 * buffer); the transport checks again before it publishes.
 */
async function refuseUnknownExchange(checkExchange: (exchange: string) => Promise<ExchangeCheck>, exchange: string): Promise<void> {
  const check = await checkExchange(exchange);
  if (check.status === 'missing') {
    throw new BadRequestError('unknown_exchange', `destination.exchange ${JSON.stringify(exchange)} does not exist on the broker (${check.reason}); declare it first`);
  }
}

/** Node joins repeated headers with ", " in `headers`, so several keys are told apart on the distinct ones. */
function idempotencyKeyOf(fromBody: unknown, fromHeaders: readonly string[] | undefined): string | undefined {
  if (fromHeaders !== undefined && fromHeaders.length > 1) throw new BadRequestError('invalid_idempotency_key', 'send one Idempotency-Key header, not several');
  const fromHeader = fromHeaders?.[0];
  if (fromBody !== undefined && (typeof fromBody !== 'string' || fromBody.length === 0 || fromBody.length > MAX_KEY_LENGTH)) {
    throw new BadRequestError('invalid_idempotency_key', `idempotencyKey must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
  if (fromHeader !== undefined && (fromHeader.length === 0 || fromHeader.length > MAX_KEY_LENGTH)) {
    throw new BadRequestError('invalid_idempotency_key', `the Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) {
    throw new BadRequestError('invalid_idempotency_key', 'the Idempotency-Key header and the idempotencyKey field differ; send one of them');
  }
  return (fromBody as string | undefined) ?? fromHeader;
}

function parseDeliveryId(raw: string | undefined): number {
  const id = raw !== undefined && /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new BadRequestError('invalid_delivery_id', `a delivery id is a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

/** `?after=<deliveryId>&limit=<n>`: the page after a delivery id (the previous answer's `nextAfter`). */
function pageOptions(query: URLSearchParams): { after: number; limit: number } {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? 1000 : /^\d{1,6}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw new BadRequestError('invalid_limit', `limit must be an integer from 1 to ${MAX_PAGE_SIZE} (page on with after=<nextAfter>), got ${JSON.stringify(rawLimit)}`);
  }
  const rawAfter = query.get('after');
  const after = rawAfter === null ? 0 : /^\d{1,16}$/.test(rawAfter) ? Number(rawAfter) : Number.NaN;
  if (!Number.isSafeInteger(after)) throw new BadRequestError('invalid_after', `after must be a delivery id (the previous page's nextAfter), got ${JSON.stringify(rawAfter)}`);
  return { after, limit };
}

function describeStatus(status: DeliveryStatus): Record<string, unknown> {
  return status.status === 'cancelled' ? { ...status, cancelledAt: new Date(status.cancelledAt).toISOString() } : { ...status };
}

/** A status in a sentence: `redriven (sent again as delivery 7)`, `unknown (this outbox never handed it out)`. */
function statusText(status: DeliveryStatus): string {
  if (status.status === 'redriven') return `redriven (sent again as delivery ${status.redrivenAs})`;
  if (status.status === 'unknown') return 'unknown (this outbox never handed it out)';
  return status.status;
}

function describeInFlight(delivery: InFlightDelivery): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    deliveryId: delivery.deliveryId,
    destination: delivery.destination,
    state: stateOf(delivery),
    attempts: delivery.attempt,
    lastError: delivery.lastError ?? null,
    firstAttemptAt: iso(delivery.firstAttemptAt),
    lastAttemptAt: iso(delivery.lastAttemptAt),
    nextAttemptAt: iso(delivery.nextAttemptAt),
    exhausted: delivery.exhausted,
    payload: delivery.message,
  };
}

function refusedRedrive(error: unknown): never {
  if (error instanceof DestinationNotAllowedError) throw new BadRequestError('destination_not_allowed', `${error.message}; the dead letter stays`);
  if (error instanceof DeliveryNotDeadLetteredError) throw new NotFoundError('not_dead_lettered', error.message);
  if (error instanceof MaxUnconfirmedMessagesExceededError) throw tooMany(error);
  throw unavailable(error);
}

function tooMany(error: MaxUnconfirmedMessagesExceededError): TooManyRequestsError {
  return new TooManyRequestsError(`${error.message}; nothing was persisted, retry later`);
}

async function queried<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw unavailable(error);
  }
}

function unavailable(error: unknown): ServiceUnavailableError {
  // Another writer stored events of the outbox's stream (a process that had just lost its lease): the
  // outbox restarts and recovers them. Nothing of this submission was stored.
  if (error instanceof SequenceNrConflictError) {
    return new ServiceUnavailableError('outbox_restarting', 'the outbox is recovering events another process wrote; retry with the same idempotency key');
  }
  if (error instanceof AskTimeoutError) {
    return new ServiceUnavailableError(
      'outbox_timeout',
      'the outbox did not answer in time (journal slow or recovering); a submission may have been persisted: retry with the same idempotency key',
    );
  }
  return new ServiceUnavailableError(
    'outbox_unavailable',
    `the outbox is unavailable: ${error instanceof Error ? error.message : String(error)}; retry with the same idempotency key`,
  );
}
