/**
 * The service's Prometheus metrics, with prom-client: one Registry per service (several services may
 * share a process, tests do), the default process and Node.js metrics in it, and steadfast's own. Every
 * label set is bounded (routes, statuses, roles, failure reasons from a fixed list, projection names an
 * embedding program chose); nothing per message or per destination becomes a label.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { OutboxObserver } from '../delivery/outbox/outbox-observer.js';
import type { OutboxStats } from '../delivery/outbox/outbox-protocol.js';
import type { ProjectionFigures } from '../src/query/projection-registry.js';
import { FAILURE_REASONS, type FailureReason, failureReasonOf } from './failure-reasons.js';
import type { JournalTimings } from './journal-timing.js';
import { LeanHistogram } from './lean-histogram.js';
import type { Role } from './outbox-role.js';

/** Seconds; from sub-millisecond SQLite commits to a struggling remote database. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; a confirmation comes in milliseconds, or after redeliveries with backoff, or after an outage. */
const CONFIRM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds; a replay or a recovery reads from a handful of events to a long journal tail. */
const RECOVERY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const ROLES = ['active', 'standby'] as const;
const PROJECTION_STATES = ['running', 'waiting', 'stopped'] as const;

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export interface ServiceMetricsSnapshot {
  /** Undefined on a standby: the outbox's figures belong to the active process. */
  readonly outbox: OutboxStats | undefined;
  readonly role: Role;
  readonly brokerConnected: boolean | undefined;
  /** Confirmations ignored because they did not prove receipt (forged, stale), this process. */
  readonly rejectedConfirmations: number;
  /** The projections started in this process's actor system (`projectionFigures`). */
  readonly projections: readonly ProjectionFigures[];
}

export class ServiceMetrics {
  readonly registry = new Registry();
  /** The outbox's own figures, shown only while this process runs the outbox (not on a standby). */
  readonly #outboxRegistry = new Registry();
  readonly #figures: OutboxFigures;
  readonly #duplicates: Counter;
  readonly #submitted: LeanHistogram;
  /** Bounded: routes are the API's patterns, statuses a few dozen codes. */
  readonly #requestCounts = new Map<string, Map<number, number>>();
  readonly #rejectedConfirmations: Counter;
  readonly #role: Gauge<'role'>;
  #broker: Gauge | undefined;
  readonly #projectionOffset: Gauge<'projection'>;
  readonly #projectionLag: Gauge<'projection'>;
  readonly #projectionState: Gauge<'projection' | 'state'>;
  readonly #acceptToConfirm: LeanHistogram;
  /** One child per reason, made up front: a failure costs no label hashing, and every reason shows 0 from the start. */
  readonly #failedAttempts: ReadonlyMap<FailureReason, { inc(value?: number): void }>;
  readonly #deadLetters: Counter;
  readonly #redrives: Counter;
  readonly #recoveries: Counter;
  readonly #recoveryDuration: LeanHistogram;
  readonly #journalWrite: LeanHistogram;
  readonly #journalReplay: LeanHistogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#figures = new OutboxFigures(this.#outboxRegistry);
    this.#duplicates = new Counter({
      name: 'steadfast_messages_duplicate_total',
      help: 'Submissions answered with an earlier delivery id (same idempotency key), this process.',
      registers,
    });
    this.#submitted = new LeanHistogram({
      name: 'steadfast_journal_write_duration_seconds',
      help: 'Time from submitting a message to the outbox until it is persisted.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const requests: Counter<'route' | 'status'> = new Counter({
      name: 'steadfast_http_requests_total',
      help: 'HTTP API requests by route and status.',
      labelNames: ['route', 'status'],
      registers,
      collect: () => {
        requests.reset();
        for (const [route, byStatus] of this.#requestCounts) {
          for (const [status, count] of byStatus) requests.inc({ route, status: String(status) }, count);
        }
      },
    });
    this.#rejectedConfirmations = new Counter({
      name: 'steadfast_confirmations_rejected_total',
      help: 'Confirmation replies ignored because their token did not prove receipt (forged or stale), this process.',
      registers,
    });
    this.#role = new Gauge({
      name: 'steadfast_role',
      help: 'The role of this process: active (runs the outbox) or standby (waits for the outbox lease); 1 for the current one.',
      labelNames: ['role'],
      registers,
    });
    this.#projectionOffset = new Gauge({
      name: 'steadfast_projection_offset',
      help: 'The last offset a projection stored (its position in the journal).',
      labelNames: ['projection'],
      registers,
    });
    this.#projectionLag = new Gauge({
      name: 'steadfast_projection_lag',
      help: "How far a projection's stored offset is behind the journal's newest event, in offsets.",
      labelNames: ['projection'],
      registers,
    });
    this.#projectionState = new Gauge({
      name: 'steadfast_projection_state',
      help: 'The state of a projection: running, waiting (for the lease another process holds) or stopped (failed); 1 for the current one.',
      labelNames: ['projection', 'state'],
      registers,
    });
    this.#acceptToConfirm = new LeanHistogram({
      name: 'steadfast_delivery_accept_to_confirm_seconds',
      help: 'Time from accepting a message (or redriving it) until its confirmation is persisted, for deliveries confirmed by this process.',
      buckets: CONFIRM_BUCKETS,
      registers,
    });
    const failed = new Counter({
      name: 'steadfast_delivery_attempts_failed_total',
      help: `Delivery attempts a transport reported as failed, by reason (${FAILURE_REASONS.join(', ')}), this process.`,
      labelNames: ['reason'],
      registers,
    });
    this.#failedAttempts = new Map(FAILURE_REASONS.map((reason) => [reason, failed.labels(reason)] as const));
    for (const child of this.#failedAttempts.values()) child.inc(0);
    this.#deadLetters = new Counter({ name: 'steadfast_dead_letters_total', help: 'Deliveries given up on and dead-lettered, this process.', registers });
    this.#redrives = new Counter({ name: 'steadfast_redrives_total', help: 'Dead letters sent again under a new delivery id, this process.', registers });
    this.#recoveries = new Counter({
      name: 'steadfast_outbox_recoveries_total',
      help: 'Recoveries of the outbox in this process (at start, on takeover, and after each restart by its supervisor).',
      registers,
    });
    this.#recoveryDuration = new LeanHistogram({
      name: 'steadfast_outbox_recovery_duration_seconds',
      help: 'How long the outbox took to recover (snapshot and journal replay) before it sent again.',
      buckets: RECOVERY_BUCKETS,
      registers,
    });
    this.#journalWrite = new LeanHistogram({
      name: 'steadfast_journal_batch_write_duration_seconds',
      help: 'Duration of one journal write call (a batch of atomic writes, group-committed), successful or not.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#journalReplay = new LeanHistogram({
      name: 'steadfast_journal_replay_duration_seconds',
      help: 'Duration of one journal replay (the events of one persistent actor, read back during its recovery).',
      buckets: RECOVERY_BUCKETS,
      registers,
    });
  }

  /** What the outbox reports, as metrics (its `observer` option). */
  readonly outboxObserver: OutboxObserver = {
    confirmed: (_deliveryId, acceptToConfirmMs) => {
      if (acceptToConfirmMs !== undefined) this.#acceptToConfirm.record(acceptToConfirmMs / 1000);
    },
    attemptFailed: (_deliveryId, error) => this.#failedAttempts.get(failureReasonOf(error))!.inc(),
    deadLettered: () => this.#deadLetters.inc(),
    redriven: () => this.#redrives.inc(),
    recovered: (durationMs) => {
      this.#recoveries.inc();
      this.#recoveryDuration.record(durationMs / 1000);
    },
  };

  /** Timings of the journal the service created (journal-timing.ts). */
  readonly journalTimings: JournalTimings = {
    written: (seconds) => this.#journalWrite.record(seconds),
    replayed: (seconds) => this.#journalReplay.record(seconds),
  };

  /** Per answered request: two Map lookups (no key built); prom-client's labelled counter is brought up to date per scrape. */
  countRequest(route: string, status: number): void {
    let byStatus = this.#requestCounts.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#requestCounts.set(route, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** A submission answered with a new delivery id, persisted `seconds` after it reached the outbox. */
  submitted(seconds: number): void {
    this.#submitted.record(seconds);
  }

  duplicate(): void {
    this.#duplicates.inc();
  }

  async render({ outbox, role, brokerConnected, rejectedConfirmations, projections }: ServiceMetricsSnapshot): Promise<string> {
    setCounter(this.#rejectedConfirmations, rejectedConfirmations);
    for (const each of ROLES) this.#role.set({ role: each }, each === role ? 1 : 0);
    this.#setProjections(projections);
    if (brokerConnected !== undefined) {
      this.#broker ??= new Gauge({ name: 'steadfast_broker_connected', help: '1 when the RabbitMQ connection is up.', registers: [this.registry] });
      this.#broker.set(brokerConnected ? 1 : 0);
    }
    if (outbox === undefined) return this.registry.metrics();
    this.#figures.set(outbox);
    return Registry.merge([this.registry, this.#outboxRegistry]).metrics();
  }

  /** Unregisters everything (the default metrics' collectors included) once the service is down. */
  close(): void {
    this.registry.clear();
    this.#outboxRegistry.clear();
  }

  /** One series per projection, labelled with its name; a lag that could not be read is left out. */
  #setProjections(projections: readonly ProjectionFigures[]): void {
    this.#projectionOffset.reset();
    this.#projectionLag.reset();
    this.#projectionState.reset();
    for (const each of projections) {
      this.#projectionOffset.set({ projection: each.name }, each.offset);
      if (each.lag !== undefined) this.#projectionLag.set({ projection: each.name }, each.lag);
      for (const state of PROJECTION_STATES) this.#projectionState.set({ projection: each.name, state }, each.state === state ? 1 : 0);
    }
  }
}

/** The outbox's figures, read from its stats at each scrape (the all-time ones come from the journal). */
class OutboxFigures {
  readonly #accepted: Counter;
  readonly #sent: Counter;
  readonly #redelivered: Counter;
  readonly #confirmed: Counter;
  readonly #deadLettered: Gauge;
  readonly #inFlight: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#accepted = new Counter({ name: 'steadfast_messages_accepted_total', help: 'Messages accepted and persisted (all time, from the journal).', registers });
    this.#sent = new Counter({
      name: 'steadfast_deliveries_sent_total',
      help: 'Delivery attempts handed to a transport (first sends and redeliveries), this process.',
      registers,
    });
    this.#redelivered = new Counter({ name: 'steadfast_deliveries_redelivered_total', help: 'Delivery attempts after the first one, this process.', registers });
    this.#confirmed = new Counter({
      name: 'steadfast_deliveries_confirmed_total',
      help: 'Deliveries confirmed by their destination (all time, from the journal).',
      registers,
    });
    this.#deadLettered = new Gauge({ name: 'steadfast_deliveries_dead_lettered', help: 'Deliveries given up on and kept for inspection and redrive.', registers });
    this.#inFlight = new Gauge({ name: 'steadfast_deliveries_in_flight', help: 'Accepted deliveries not confirmed yet.', registers });
  }

  set(stats: OutboxStats): void {
    setCounter(this.#accepted, stats.accepted);
    setCounter(this.#sent, stats.sent);
    setCounter(this.#redelivered, stats.redelivered);
    setCounter(this.#confirmed, stats.confirmed);
    this.#deadLettered.set(stats.deadLettered);
    this.#inFlight.set(stats.inFlight);
  }
}

/** A counter whose total is kept elsewhere (the journal, a transport): shown as that total. */
function setCounter(counter: Counter, total: number): void {
  counter.reset();
  counter.inc(total);
}
