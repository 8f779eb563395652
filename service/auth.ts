/**
 * Who may call the API: with API_TOKEN set, every request except `GET /healthz` (and the sign-in /
 * sign-out routes themselves) needs `Authorization: Bearer <token>` or a session cookie from
 * `POST /session` (for a browser, which sends no bearer header). Otherwise 401 `unauthorized`.
 *
 * - Tokens are compared in constant time on SHA-256 digests (crypto.timingSafeEqual), so neither the
 *   content nor the length of the token leaks through timing.
 * - The session cookie is `v1.<expiry ms>.<HMAC-SHA256(key, expiry)>` with a key derived from the token
 *   (HKDF): nothing is stored, sessions stay valid across restarts and across instances that share the
 *   token, and changing the token invalidates every session. It lasts SESSION_TTL_MS.
 * - Cookie attributes: `HttpOnly; SameSite=Strict; Path=/`, and `Secure` unless the request came over
 *   plain HTTP to loopback (a loopback peer, a loopback Host header and no `X-Forwarded-Proto: https`):
 *   browsers drop Secure cookies of http://127.0.0.1, while behind a TLS proxy the cookie must never
 *   travel in clear.
 * - A cookie-authenticated request that changes something (not GET) is refused (403
 *   `cross_site_request`) when the browser says it came from another origin (Sec-Fetch-Site, Origin):
 *   SameSite does not separate ports of one host.
 * - Failed token attempts are rate-limited per remote address (IPv6 per /64): a token bucket of
 *   AUTH_FAILURE_BURST attempts refilled at one per AUTH_FAILURE_REFILL_MS; when it is empty, token
 *   attempts get 429 `too_many_auth_failures` without being checked. At most AUTH_FAILURE_ADDRESSES
 *   addresses are tracked (the oldest is forgotten first). Behind a proxy every client shares the
 *   proxy's address (X-Forwarded-For is not trusted); valid session cookies are never rate-limited.
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { ServiceConfig } from './config.js';
import { BadRequestError, HttpError } from './errors.js';
import type { RequestContext, Route, RouteResult } from './http-server.js';

export const SESSION_COOKIE = 'steadfast_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const AUTH_FAILURE_BURST = 10;
export const AUTH_FAILURE_REFILL_MS = 6000;
export const AUTH_FAILURE_ADDRESSES = 10_000;
const REALM = 'Bearer realm="steadfast"';

/**
 * Requests that need no authentication (method + path). The dashboard's page, style and script hold
 * no data (they read the API like any client), and the page must load to offer its sign-in form.
 */
const PUBLIC = new Set(['GET /healthz', 'GET /session', 'POST /session', 'DELETE /session', 'GET /', 'GET /dashboard.css', 'GET /dashboard.js']);

export class UnauthorizedError extends HttpError {
  constructor(message: string) {
    super(401, 'unauthorized', message, { 'WWW-Authenticate': REALM });
  }
}

export class TooManyAuthFailuresError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, 'too_many_auth_failures', `too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s`, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

export class CrossSiteRequestError extends HttpError {
  constructor() {
    super(403, 'cross_site_request', "a request authenticated by the session cookie must come from the service's own origin");
  }
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const plain = host
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (plain === 'localhost' || plain.endsWith('.localhost')) return true;
  const version = isIP(plain);
  if (version === 4) return plain.startsWith('127.');
  if (version === 6) return plain === '::1' || /^(0{0,4}:){0,5}:?ffff:127\./.test(plain) || plain === '0:0:0:0:0:0:0:1';
  return false;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Token bucket of failed attempts per address, bounded in memory. */
export class FailureLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly burst = AUTH_FAILURE_BURST,
    private readonly refillMs = AUTH_FAILURE_REFILL_MS,
    private readonly maxAddresses = AUTH_FAILURE_ADDRESSES,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** Seconds until the next attempt is allowed (0: now). */
  blockedFor(address: string): number {
    const bucket = this.#refilled(keyOf(address));
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * this.refillMs) / 1000));
  }

  fail(address: string): void {
    const key = keyOf(address);
    const bucket = this.#refilled(key) ?? { tokens: this.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.delete(key); // re-inserted last: the Map's order is the eviction order
    this.#buckets.set(key, bucket);
    while (this.#buckets.size > this.maxAddresses) this.#buckets.delete(this.#buckets.keys().next().value!);
  }

  #refilled(key: string): { tokens: number; at: number } | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    if (bucket.tokens >= this.burst) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }
}

/** IPv4 (also IPv4-mapped) as is; IPv6 by its /64, so one host cannot rotate through its addresses. */
function keyOf(address: string): string {
  const plain = address.replace(/^::ffff:(?=\d+\.)/i, '');
  if (isIP(plain) !== 6) return plain;
  const [head = '', tail] = plain.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

export interface ApiAuthOptions {
  readonly now?: () => number;
  readonly sessionTtlMs?: number;
  readonly limiter?: FailureLimiter;
}

export class ApiAuth {
  readonly #tokenDigest: Buffer | undefined;
  readonly #sessionKey: Buffer | undefined;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly limiter: FailureLimiter;

  /** token undefined: authentication is off and every request is allowed. */
  constructor(token: string | undefined, options: ApiAuthOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#ttl = options.sessionTtlMs ?? SESSION_TTL_MS;
    this.limiter = options.limiter ?? new FailureLimiter(this.#now);
    if (token !== undefined) {
      this.#tokenDigest = digest(token);
      this.#sessionKey = Buffer.from(hkdfSync('sha256', token, 'steadfast', 'session-cookie-v1', 32));
    }
  }

  get enabled(): boolean {
    return this.#tokenDigest !== undefined;
  }

  /** The API server's guard: throws 401/403/429 unless the request may go on. */
  readonly authorize = (request: IncomingMessage, method: string, pathname: string): void => {
    if (!this.enabled || PUBLIC.has(`${method} ${pathname.replace(/\/+$/, '') || '/'}`)) return;
    if (this.#validSession(request.headers.cookie)) {
      if (method !== 'GET' && crossSite(request)) throw new CrossSiteRequestError();
      return;
    }
    const bearer = bearerOf(request);
    if (bearer === undefined) {
      throw new UnauthorizedError(
        request.headers.cookie?.includes(`${SESSION_COOKIE}=`)
          ? 'the session has expired or is not valid; sign in again (POST /session)'
          : 'this API needs a token: send Authorization: Bearer <API_TOKEN> (or sign in with POST /session)',
      );
    }
    this.#checkToken(bearer, request.socket.remoteAddress ?? 'unknown');
  };

  /** Routes `GET /session` (whether this browser is signed in), `POST /session` and `DELETE /session`. */
  routes(): Route[] {
    return [
      {
        method: 'GET',
        path: '/session',
        body: 'none',
        handle: ({ headers }) =>
          Promise.resolve({
            status: 200,
            json: { authenticationRequired: this.enabled, signedIn: this.enabled && this.#validSession(headers.cookie) },
            headers: { 'Cache-Control': 'no-store' },
          }),
      },
      { method: 'POST', path: '/session', body: 'optional-json', handle: (context) => Promise.resolve(this.#signIn(context)) },
      { method: 'DELETE', path: '/session', body: 'none', handle: (context) => Promise.resolve(this.#signOut(context)) },
    ];
  }

  /** A session cookie value valid until now + ttl (exposed for tests). */
  sessionValue(expiresAt = this.#now() + this.#ttl): string {
    return `v1.${expiresAt}.${this.#mac(expiresAt)}`;
  }

  #mac(expiresAt: number): string {
    return createHmac('sha256', this.#sessionKey!).update(`steadfast-session.v1.${expiresAt}`).digest('base64url');
  }

  #validSession(cookieHeader: string | undefined): boolean {
    if (cookieHeader === undefined || this.#sessionKey === undefined) return false;
    const now = this.#now();
    for (const part of cookieHeader.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name !== SESSION_COOKIE) continue;
      const match = /^v1\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(rest.join('='));
      if (!match) continue;
      const expiresAt = Number(match[1]);
      // An expiry further out than a fresh session's is not one this process issued.
      if (!(expiresAt > now && expiresAt <= now + this.#ttl + 60_000)) continue;
      // Compared as text, not decoded: base64url's last character carries spare bits, and a decoded
      // comparison would accept several spellings of one MAC.
      const given = Buffer.from(match[2]!, 'utf8');
      const expected = Buffer.from(this.#mac(expiresAt), 'utf8');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
    }
    return false;
  }

  #checkToken(token: string, address: string): void {
    const wait = this.limiter.blockedFor(address);
    if (wait > 0) throw new TooManyAuthFailuresError(wait);
    if (timingSafeEqual(digest(token), this.#tokenDigest!)) return;
    this.limiter.fail(address);
    throw new UnauthorizedError('the token is not valid');
  }

  #signIn({ body, headers, remoteAddress }: RequestContext): RouteResult {
    if (!this.enabled) return { status: 200, json: { authenticationRequired: false } };
    let token: string | undefined;
    if (body !== undefined) {
      const given = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { token?: unknown }).token : undefined;
      if (typeof given !== 'string')
        throw new BadRequestError('invalid_request', 'the body must be {"token": "<API_TOKEN>"} (or send no body and Authorization: Bearer <API_TOKEN>)');
      token = given;
    } else token = bearerOfHeaders(headers);
    if (token === undefined) throw new UnauthorizedError('sign in with {"token": "<API_TOKEN>"} or Authorization: Bearer <API_TOKEN>');
    this.#checkToken(token, remoteAddress ?? 'unknown');
    const expiresAt = this.#now() + this.#ttl;
    const cookie = `${SESSION_COOKIE}=${this.sessionValue(expiresAt)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(this.#ttl / 1000)}${secureCookie(headers, remoteAddress) ? '; Secure' : ''}`;
    return { status: 200, json: { expiresAt: new Date(expiresAt).toISOString() }, headers: { 'Set-Cookie': cookie, 'Cache-Control': 'no-store' } };
  }

  #signOut({ headers, remoteAddress }: RequestContext): RouteResult {
    const cookie = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secureCookie(headers, remoteAddress) ? '; Secure' : ''}`;
    return { status: 200, json: { signedOut: true }, headers: { 'Set-Cookie': cookie } };
  }
}

function bearerOf(request: IncomingMessage): string | undefined {
  return bearerOfHeaders(request.headers);
}

function bearerOfHeaders(headers: IncomingMessage['headers']): string | undefined {
  const value = headers.authorization;
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  // A malformed Authorization header is a failed attempt like a wrong token, not a missing one.
  return match ? match[1]! : value;
}

/** Secure, unless plain HTTP to loopback (see the file comment). */
function secureCookie(headers: IncomingMessage['headers'], remoteAddress: string | undefined): boolean {
  const forwardedHttps = /^https$/i.test(
    String(headers['x-forwarded-proto'] ?? '')
      .split(',')[0]!
      .trim(),
  );
  if (forwardedHttps) return true;
  const hostHeader = headers.host ?? '';
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!;
  return !(remoteAddress !== undefined && isLoopbackHost(remoteAddress) && isLoopbackHost(host));
}

function crossSite(request: IncomingMessage): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}

/** Lines to log at start about who may call the API. */
export function securityWarnings(config: Pick<ServiceConfig, 'host' | 'apiToken' | 'allowUnauthenticated'>): string[] {
  if (config.apiToken === undefined && !isLoopbackHost(config.host)) {
    return [`listening on ${config.host} without API_TOKEN (ALLOW_UNAUTHENTICATED=true): anyone who can reach this address can submit messages and read deliveries`];
  }
  return [];
}
