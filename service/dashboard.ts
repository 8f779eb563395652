/**
 * The operator dashboard: `GET /` (the page, its stylesheet and script, written by hand and shipped
 * inside the package as strings, so nothing is fetched from elsewhere) and `GET /events` (live
 * snapshots: live-events.ts). The page carries no data and is served to anyone; what it shows comes
 * from the API and the event stream, both behind API_TOKEN (the session cookie, auth.ts).
 */
import type { Logger } from 'pino';
import type { Route, RouteResult } from './http-server.js';
import type { HealthReport } from './health.js';
import type { OutboxHolder } from './outbox-role.js';
import { LiveEvents } from './live-events.js';
import { DASHBOARD_HTML } from './dashboard/page.js';
import { RateHistory } from './rate-history.js';
import { DASHBOARD_JS } from './dashboard/script.js';
import { DASHBOARD_CSS } from './dashboard/style.js';

export interface DashboardOptions {
  readonly holder: OutboxHolder;
  readonly health: () => Promise<HealthReport>;
  readonly logger: Logger;
  /** How often rates are sampled and snapshots sent, ms. Default 2000. */
  readonly intervalMs?: number;
  /** Open event streams at most. Default 32. */
  readonly maxEventClients?: number;
}

/** Samples kept for the chart: 150 × 2 s = the last 5 minutes. */
const RATE_SAMPLES = 150;
/** A client that takes no snapshot for this long is cut off (its browser reconnects). */
const MAX_BLOCKED_MS = 30_000;

/** The page may load its own script and style and talk to its own origin, nothing else. */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export class Dashboard {
  readonly rates: RateHistory;
  readonly events: LiveEvents;

  constructor(options: DashboardOptions) {
    const intervalMs = options.intervalMs ?? 2000;
    this.rates = new RateHistory({
      intervalMs,
      samples: RATE_SAMPLES,
      read: async () => {
        const outbox = options.holder.current;
        return outbox === undefined ? undefined : await outbox.stats();
      },
    });
    this.events = new LiveEvents({
      maxClients: options.maxEventClients ?? 32,
      intervalMs,
      maxBlockedMs: MAX_BLOCKED_MS,
      logger: options.logger,
      snapshot: async () => {
        const outbox = options.holder.current;
        const [health, stats] = await Promise.all([options.health(), outbox === undefined ? undefined : outbox.stats().catch(() => undefined)]);
        return {
          at: new Date().toISOString(),
          role: options.holder.role,
          health,
          stats: stats ?? null,
          rates: this.rates.series(),
          rateIntervalMs: intervalMs,
        };
      },
    });
  }

  start(): void {
    this.rates.start();
  }

  close(): void {
    this.rates.stop();
    this.events.close();
  }

  routes(): Route[] {
    const asset = (path: string, text: string, contentType: string): Route => ({
      method: 'GET',
      path,
      body: 'none',
      handle: () => Promise.resolve<RouteResult>({ status: 200, text, contentType, headers: PAGE_HEADERS }),
    });
    return [
      asset('/', DASHBOARD_HTML, 'text/html; charset=utf-8'),
      asset('/dashboard.css', DASHBOARD_CSS, 'text/css; charset=utf-8'),
      asset('/dashboard.js', DASHBOARD_JS, 'text/javascript; charset=utf-8'),
      {
        method: 'GET',
        path: '/events',
        body: 'none',
        handle: () => {
          this.events.admit();
          return Promise.resolve<RouteResult>({ status: 200, open: (response) => this.events.open(response) });
        },
      },
    ];
  }
}
