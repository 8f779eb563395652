import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorSystem } from '../../src/actor/actor-system.js';
import { BackoffSupervisor } from '../../src/actor/backoff-supervisor.js';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { assertJsonRoundTrips } from '../../src/persistence/serialization.js';
import type { DeliveryInfo } from '../at-least-once-delivery-actor.js';
import { toPlainDestination, validateDestination, type Destination } from '../destination.js';
import { DeliveryTransports } from '../transports.js';
import type { JsonValue } from '../transport.js';
import { OutboxActor, type OutboxActorOptions } from './outbox-actor.js';
// The facade only builds the protocol's commands; the answers' types come separately.
import { OutboxCancel, OutboxDeliveryStatus, OutboxListPage, OutboxQuery, OutboxRedrive, OutboxSend } from './outbox-protocol.js';
import type { DeadLetteredDelivery, DeliveryStatus, OutboxPage, OutboxStats, SendAccepted } from './outbox-protocol.js';
import { requestHashOf } from './idempotency-keys.js';
import { deliveryTracing } from '../tracing/delivery-tracing.js';
import { storedTraceCarrier, type TraceCarrier } from '../tracing/trace-context.js';

export interface OutboxOptions extends Omit<OutboxActorOptions, 'persistenceId'> {
  /** Actor name under /user, and the persistenceId unless one is given. Default "outbox". */
  name?: string;
  persistenceId?: string;
  /** How long `send` and the queries wait for the outbox, ms. Default 10 000. */
  askTimeoutMs?: number;
  /** Backoff when the outbox stops after a journal failure. Defaults 200 ms .. 10 s. */
  restartBackoff?: { minBackoffMs: number; maxBackoffMs: number };
}

export interface SendOptions {
  /**
   * A retried send with the same key returns the first send's delivery id instead of sending twice.
   * The same key with another destination or payload is refused (IdempotencyKeyReusedError).
   */
  idempotencyKey?: string;
  /**
   * The trace the message belongs to (W3C `traceparent`, `tracestate`), e.g. from an incoming
   * request; a malformed one is ignored. Without it the caller's active OpenTelemetry context is used.
   * The delivery keeps it (event, snapshots) and every attempt sends it on.
   */
  trace?: TraceCarrier;
}

export interface ListOptions<T = unknown> {
  /** Only deliveries with a higher id (the previous page's `nextAfter`). Default 0: from the first. */
  after?: number;
  /** At most this many. Default 1000, at most 10 000. */
  limit?: number;
  /**
   * Only those it returns true for; `total` counts them. It runs inside the outbox, once per item, so
   * keep it cheap; an in-flight delivery's `message` is parsed when read, so filter on the other fields.
   */
  where?: (item: T) => boolean;
}

/** The largest page `listInFlight` and `listDeadLetters` give. */
export const MAX_PAGE_SIZE = 10_000;

export type InFlightDelivery = Omit<DeliveryInfo, 'message'> & { readonly message: JsonValue };

/**
 * At-least-once delivery without writing an event-sourced actor. `send` resolves once the message
 * is in the journal; delivery and redelivery follow until the destination confirms. The outbox runs
 * under a backoff supervisor: after a journal failure it comes back, recovers and redelivers.
 */
export class Outbox {
  readonly ref: ActorRef;
  readonly persistenceId: string;
  readonly #system: ActorSystem;
  readonly #askTimeoutMs: number;

  static start(system: ActorSystem, options: OutboxOptions = {}): Outbox {
    return new Outbox(system, options);
  }

  private constructor(system: ActorSystem, options: OutboxOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('Outbox options must be an object');
    const name = options.name ?? 'outbox';
    this.persistenceId = options.persistenceId ?? name;
    this.#system = system;
    this.#askTimeoutMs = options.askTimeoutMs ?? 10_000;
    if (!(this.#askTimeoutMs > 0)) throw new InvalidOptionError(`Outbox option askTimeoutMs must be > 0, got ${this.#askTimeoutMs}`);
    for (const [key, value] of [
      ['snapshotEvery', options.snapshotEvery],
      ['maxIdempotencyKeys', options.maxIdempotencyKeys],
      ['maxDeadLetters', options.maxDeadLetters],
      ['keepSnapshots', options.keepSnapshots],
      ['maxUnconfirmedBytes', options.maxUnconfirmedBytes],
    ] as const) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
        throw new InvalidOptionError(`Outbox option ${key} must be a positive integer, got ${JSON.stringify(value)}`);
      }
    }
    if (options.deleteEventsOnSnapshot !== undefined && typeof options.deleteEventsOnSnapshot !== 'boolean') {
      throw new InvalidOptionError(`Outbox option deleteEventsOnSnapshot must be a boolean, got ${JSON.stringify(options.deleteEventsOnSnapshot)}`);
    }
    if (options.observer !== undefined && (options.observer === null || typeof options.observer !== 'object')) {
      throw new InvalidOptionError('Outbox option observer must be an object of callbacks (OutboxObserver)');
    }
    const actorOptions: OutboxActorOptions = { ...options, persistenceId: this.persistenceId };
    const backoff = options.restartBackoff ?? { minBackoffMs: 200, maxBackoffMs: 10_000 };
    this.ref = system.actorOf(
      BackoffSupervisor.props({
        child: () => new OutboxActor(actorOptions),
        childName: 'outbox',
        minBackoffMs: backoff.minBackoffMs,
        maxBackoffMs: backoff.maxBackoffMs,
      }),
      name,
    );
  }

  /** Persists the message for `destination`; resolves with its delivery id once it is durable. */
  async send(destination: Destination, payload: JsonValue, options: SendOptions = {}): Promise<SendAccepted> {
    validateDestination(destination);
    if (typeof destination === 'object' && !('tell' in destination)) DeliveryTransports.get(this.#system).validate(destination);
    assertJsonRoundTrips(payload);
    const key = options.idempotencyKey;
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200)) {
      throw new InvalidOptionError('idempotencyKey must be a non-empty string of at most 200 characters');
    }
    const plain = toPlainDestination(destination);
    const hash = key === undefined ? undefined : requestHashOf(plain, payload);
    const span = deliveryTracing.startAccept(options.trace === undefined ? undefined : storedTraceCarrier(options.trace), { 'steadfast.outbox': this.persistenceId });
    const accepted = this.ref.ask<SendAccepted>(new OutboxSend(plain, payload, key, hash, span?.carrier), this.#askTimeoutMs);
    if (span === undefined) return accepted;
    return accepted.then(
      (answer) => {
        span.accepted(answer.deliveryId, answer.duplicate);
        return answer;
      },
      (error: unknown) => {
        span.failed(error);
        throw error;
      },
    );
  }

  /** In-flight deliveries by delivery id (oldest first), a page at a time. */
  listInFlight(options: ListOptions<InFlightDelivery> = {}): Promise<OutboxPage<InFlightDelivery>> {
    return this.ref.ask<OutboxPage<InFlightDelivery>>(new OutboxListPage('in-flight', ...pageBounds(options), whereOf(options)), this.#askTimeoutMs);
  }

  /** Dead letters by delivery id, a page at a time. */
  listDeadLetters(options: ListOptions<DeadLetteredDelivery> = {}): Promise<OutboxPage<DeadLetteredDelivery>> {
    return this.ref.ask<OutboxPage<DeadLetteredDelivery>>(new OutboxListPage('dead-letters', ...pageBounds(options), whereOf(options)), this.#askTimeoutMs);
  }

  /**
   * Cancels an in-flight delivery: persisted, it is never sent again (a send already on its way is not
   * recalled). Resolves with its status afterwards: `cancelled` (now or before), or what it is instead
   * (`confirmed`, `dead-lettered`, ..., `unknown`): then nothing was changed. A dead letter is not
   * cancelled by it (`cancelDeadLetter` is), so a cancel that loses the race to the dead-lettering
   * leaves the dead letter for the operator to look at.
   */
  cancel(deliveryId: number): Promise<DeliveryStatus> {
    return this.ref.ask<DeliveryStatus>(new OutboxCancel(checkedId(deliveryId)), this.#askTimeoutMs);
  }

  /**
   * Cancels (discards) a dead letter: persisted, it leaves the dead letters for good and is never sent
   * again nor redriven. Resolves like `cancel`: `cancelled` (now or before), or what it is instead
   * (`in-flight`, `redriven`, `dropped`, `confirmed`, ..., `unknown`): then nothing was changed. Against
   * a `redrive` of the same dead letter, the one the outbox takes first wins.
   */
  cancelDeadLetter(deliveryId: number): Promise<DeliveryStatus> {
    return this.ref.ask<DeliveryStatus>(new OutboxCancel(checkedId(deliveryId), 'dead-letter'), this.#askTimeoutMs);
  }

  inFlight(): Promise<InFlightDelivery[]> {
    return this.ref.ask<InFlightDelivery[]>(new OutboxQuery('in-flight'), this.#askTimeoutMs);
  }

  deadLetters(): Promise<DeadLetteredDelivery[]> {
    return this.ref.ask<DeadLetteredDelivery[]>(new OutboxQuery('dead-letters'), this.#askTimeoutMs);
  }

  stats(): Promise<OutboxStats> {
    return this.ref.ask<OutboxStats>(new OutboxQuery('stats'), this.#askTimeoutMs);
  }

  status(deliveryId: number): Promise<DeliveryStatus> {
    return this.ref.ask<DeliveryStatus>(new OutboxDeliveryStatus(deliveryId), this.#askTimeoutMs);
  }

  /** Sends dead-lettered deliveries again (under new delivery ids); resolves with the redriven ids. */
  redrive(deliveryId?: number): Promise<number[]> {
    return this.ref.ask<number[]>(new OutboxRedrive(deliveryId), this.#askTimeoutMs);
  }

  stop(): Promise<void> {
    return this.#system.stop(this.ref);
  }
}

function checkedId(deliveryId: number): number {
  if (!Number.isSafeInteger(deliveryId)) throw new InvalidOptionError(`a delivery id is an integer, got ${JSON.stringify(deliveryId)}`);
  return deliveryId;
}

function whereOf<T>({ where }: ListOptions<T>): ((item: never) => boolean) | undefined {
  if (where !== undefined && typeof where !== 'function') throw new InvalidOptionError('where must be a function (item) => boolean');
  return where as ((item: never) => boolean) | undefined;
}

function pageBounds({ after = 0, limit = 1000 }: Pick<ListOptions, 'after' | 'limit'>): [after: number, limit: number] {
  if (!Number.isSafeInteger(after) || after < 0) throw new InvalidOptionError(`after must be a delivery id (an integer >= 0), got ${JSON.stringify(after)}`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new InvalidOptionError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(limit)}`);
  return [after, limit];
}
