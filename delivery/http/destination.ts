/**
 * HTTP destinations as plain data (they live in journals and snapshots), and their validation: once
 * when a message is accepted, so a bad URL is refused at the edge instead of being retried forever.
 */
import { InvalidOptionError } from '../../src/actor/errors.js';
import { redactUrl } from '../redaction.js';
import { DestinationNotAllowedError } from './errors.js';
import type { TransportDestination } from '../transport.js';

export type HttpMethod = 'POST' | 'PUT' | 'PATCH';

export type HttpDestination = TransportDestination<'http'> & {
  readonly transport: 'http';
  readonly url: string;
  readonly method?: HttpMethod;
  readonly headers?: { readonly [name: string]: string };
};

declare module '../transport.js' {
  /** Registers the HTTP transport's destinations (see TransportNames). */
  interface TransportNames {
    http: HttpDestination;
  }
}

export interface ResolvedHttpDestination {
  readonly url: URL;
  readonly method: HttpMethod;
  readonly headers: Readonly<Record<string, string>>;
  /** "POST http://host/path", credentials removed: for error messages and logs. */
  readonly label: string;
}

const FIELDS = new Set(['transport', 'url', 'method', 'headers']);
const METHODS: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH'];
// Set by the transport itself: letting a destination override them would break deduplication or framing.
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'host', 'connection', 'idempotency-key']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 field-value: visible ASCII, spaces and tabs. Node refuses the rest when it sends (`€`, a
// control character), so such a header would fail every attempt forever: refused when accepted instead.
// obs-text (\x80-\xff) is left out on purpose: Node would send it as Latin-1, not as the UTF-8 given.
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

export function httpDestination(url: string, options: { method?: HttpMethod; headers?: Record<string, string> } = {}): HttpDestination {
  const destination: HttpDestination = {
    transport: 'http',
    url,
    ...(options.method ? { method: options.method } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  };
  resolveHttpDestination(destination);
  return destination;
}

/** Validates and resolves; throws InvalidOptionError naming the field. */
export function resolveHttpDestination(destination: TransportDestination<string>): ResolvedHttpDestination {
  if (destination.transport !== 'http') throw new InvalidOptionError(`destination.transport must be 'http', got ${JSON.stringify(destination.transport)}`);
  for (const key of Object.keys(destination)) {
    if (!FIELDS.has(key)) throw new InvalidOptionError(`destination.${key} is not a field of an http destination (url, method, headers)`);
  }
  if (typeof destination.url !== 'string' || destination.url.length === 0) throw new InvalidOptionError('destination.url must be a non-empty string');
  let url: URL;
  try {
    url = new URL(destination.url);
  } catch {
    throw new InvalidOptionError(`destination.url is not a valid URL: ${JSON.stringify(redact(destination.url))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationNotAllowedError(`destination.url must be http: or https:, got ${url.protocol}`);
  const method = destination.method ?? 'POST';
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
    throw new InvalidOptionError(`destination.method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  }
  const headers: Record<string, string> = {};
  if (destination.headers !== undefined) {
    const raw = destination.headers;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidOptionError('destination.headers must be an object of header names to string values');
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(raw)) {
      if (!TOKEN.test(name)) throw new InvalidOptionError(`destination.headers: ${JSON.stringify(name)} is not a valid header name`);
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower) || lower.startsWith('x-steadfast-')) throw new InvalidOptionError(`destination.headers.${name} is set by the transport and cannot be given`);
      // Header names are case-insensitive: two spellings of one name would leave one of them unsent.
      if (seen.has(lower)) throw new InvalidOptionError(`destination.headers names ${JSON.stringify(name)} twice (header names are case-insensitive)`);
      seen.add(lower);
      if (typeof value !== 'string') throw new InvalidOptionError(`destination.headers.${name} must be a string`);
      if (!FIELD_VALUE.test(value)) {
        throw new InvalidOptionError(
          `destination.headers.${name} may hold only visible ASCII characters, spaces and tabs (HTTP forbids the others); found ${describeForbidden(value)}`,
        );
      }
      headers[name] = value;
    }
  }
  return { url, method: method as HttpMethod, headers, label: `${method} ${redact(url.href)}` };
}

/** Credentials (user, password, secret query parameters) masked: for labels and error messages. */
function redact(url: string): string {
  return redactUrl(url, { username: true });
}

function describeForbidden(value: string): string {
  const forbidden = [...value].find((char) => !FIELD_VALUE.test(char))!;
  return `U+${forbidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
