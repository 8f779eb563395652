/**
 * Prometheus text exposition (format 0.0.4) without a client library: a few counters, gauges and one
 * histogram are all the service needs, and the format is small and stable.
 */
import type { OutboxStats } from '../delivery/outbox/outbox-protocol.js';
import type { ProjectionFigures } from '../src/query/projection-registry.js';
import type { Role } from './outbox-role.js';

/** Seconds; from sub-millisecond SQLite commits to a struggling remote database. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  readonly #counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  #sum = 0;
  #count = 0;

  observe(seconds: number): void {
    this.#sum += seconds;
    this.#count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) this.#counts[i]!++;
  }

  render(name: string, help: string): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    for (const [i, bound] of LATENCY_BUCKETS.entries()) lines.push(`${name}_bucket{le="${bound}"} ${this.#counts[i]}`);
    lines.push(`${name}_bucket{le="+Inf"} ${this.#count}`, `${name}_sum ${this.#sum}`, `${name}_count ${this.#count}`);
    return lines.join('\n');
  }
}

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
  /** Accepted by this process (202 with a new delivery id); the outbox's own count survives restarts. */
  acceptedHere = 0;
  duplicates = 0;
  readonly journalWrite = new Histogram();
  readonly #requests = new Map<string, number>();

  countRequest(route: string, status: number): void {
    const key = `route="${route}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  render({ outbox, role, brokerConnected, rejectedConfirmations, projections }: ServiceMetricsSnapshot): string {
    const blocks = [
      ...(outbox === undefined
        ? []
        : [
            metric('steadfast_messages_accepted_total', 'counter', 'Messages accepted and persisted (all time, from the journal).', outbox.accepted),
            metric('steadfast_deliveries_sent_total', 'counter', 'Delivery attempts handed to a transport (first sends and redeliveries), this process.', outbox.sent),
            metric('steadfast_deliveries_redelivered_total', 'counter', 'Delivery attempts after the first one, this process.', outbox.redelivered),
            metric('steadfast_deliveries_confirmed_total', 'counter', 'Deliveries confirmed by their destination (all time, from the journal).', outbox.confirmed),
            metric('steadfast_deliveries_dead_lettered', 'gauge', 'Deliveries given up on and kept for inspection and redrive.', outbox.deadLettered),
            metric('steadfast_deliveries_in_flight', 'gauge', 'Accepted deliveries not confirmed yet.', outbox.inFlight),
          ]),
      metric('steadfast_messages_duplicate_total', 'counter', 'Submissions answered with an earlier delivery id (same idempotency key), this process.', this.duplicates),
      metric(
        'steadfast_confirmations_rejected_total',
        'counter',
        'Confirmation replies ignored because their token did not prove receipt (forged or stale), this process.',
        rejectedConfirmations,
      ),
      [
        '# HELP steadfast_role The role of this process: active (runs the outbox) or standby (waits for the outbox lease); 1 for the current one.',
        '# TYPE steadfast_role gauge',
        ...(['active', 'standby'] as const).map((each) => `steadfast_role{role="${each}"} ${each === role ? 1 : 0}`),
      ].join('\n'),
      this.journalWrite.render('steadfast_journal_write_duration_seconds', 'Time from submitting a message to the outbox until it is persisted.'),
      [
        '# HELP steadfast_http_requests_total HTTP API requests by route and status.',
        '# TYPE steadfast_http_requests_total counter',
        ...[...this.#requests].map(([labels, count]) => `steadfast_http_requests_total{${labels}} ${count}`),
      ].join('\n'),
    ];
    if (projections.length > 0) blocks.push(...renderProjections(projections));
    if (brokerConnected !== undefined) blocks.push(metric('steadfast_broker_connected', 'gauge', '1 when the RabbitMQ connection is up.', brokerConnected ? 1 : 0));
    return `${blocks.join('\n')}\n`;
  }
}

const PROJECTION_STATES = ['running', 'waiting', 'stopped'] as const;

/** One series per projection, labelled with its name; a lag that could not be read is left out. */
function renderProjections(projections: readonly ProjectionFigures[]): string[] {
  const label = (name: string) => `projection="${escapeLabel(name)}"`;
  const lagged = projections.filter((each) => each.lag !== undefined);
  return [
    [
      '# HELP steadfast_projection_offset The last offset a projection stored (its position in the journal).',
      '# TYPE steadfast_projection_offset gauge',
      ...projections.map((each) => `steadfast_projection_offset{${label(each.name)}} ${each.offset}`),
    ].join('\n'),
    [
      "# HELP steadfast_projection_lag How far a projection's stored offset is behind the journal's newest event, in offsets.",
      '# TYPE steadfast_projection_lag gauge',
      ...lagged.map((each) => `steadfast_projection_lag{${label(each.name)}} ${each.lag}`),
    ].join('\n'),
    [
      '# HELP steadfast_projection_state The state of a projection: running, waiting (for the lease another process holds) or stopped (failed); 1 for the current one.',
      '# TYPE steadfast_projection_state gauge',
      ...projections.flatMap((each) => PROJECTION_STATES.map((state) => `steadfast_projection_state{${label(each.name)},state="${state}"} ${each.state === state ? 1 : 0}`)),
    ].join('\n'),
  ];
}

/** Prometheus label values escape backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function metric(name: string, type: 'counter' | 'gauge', help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}`;
}
