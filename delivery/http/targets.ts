/**
 * What the transport sends to, per destination: resolved and validated once, with the headers that
 * do not change between deliveries already laid out. Each delivery is resolved three times (accepted,
 * handed to the transport, sent) and deliveries mostly go to few destinations, so the results are
 * remembered by the destination's content (a bounded map). Destinations that are not plainly
 * well-formed are resolved every time, so that validation says what is wrong with them.
 */
import type { TransportDestination } from '../transport.js';
import { resolveHttpDestination, type ResolvedHttpDestination } from './destination.js';

export interface HttpTarget extends ResolvedHttpDestination {
  readonly origin: string;
  readonly path: string;
  /**
   * The destination's headers as undici takes them (name, value, name, value, ...): the transport's
   * User-Agent replaces the destination's (undici would send both), and credentials in the URL become
   * Basic authorization unless a header gives one (as node:http did).
   */
  readonly headerPairs: readonly string[];
}

const MAX_TARGETS = 1024;
const FIELDS = new Set(['transport', 'url', 'method', 'headers']);

function toTarget(resolved: ResolvedHttpDestination): HttpTarget {
  const headerPairs: string[] = [];
  let authorized = false;
  for (const [name, value] of Object.entries(resolved.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'user-agent') continue;
    if (lower === 'authorization') authorized = true;
    headerPairs.push(name, value);
  }
  const { url } = resolved;
  if (!authorized && (url.username !== '' || url.password !== '')) {
    headerPairs.push('authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`);
  }
  return { ...resolved, origin: url.origin, path: `${url.pathname}${url.search}`, headerPairs };
}

/** The key for a destination of string fields only (else undefined: not remembered). */
function keyOf(destination: TransportDestination<string>): string | undefined {
  const { url, method, headers } = destination as { url?: unknown; method?: unknown; headers?: unknown };
  if (destination.transport !== 'http' || typeof url !== 'string' || (method !== undefined && typeof method !== 'string')) return undefined;
  for (const field in destination) if (!FIELDS.has(field)) return undefined;
  if (headers !== undefined) {
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
    for (const value of Object.values(headers)) if (typeof value !== 'string') return undefined;
  }
  return JSON.stringify([url, method, headers]);
}

/** Whether the destination is `{ transport: 'http', url }` and nothing else (most are). */
function isUrlOnly(destination: TransportDestination<string>): destination is TransportDestination<string> & { readonly url: string } {
  if (destination.transport !== 'http' || typeof (destination as { url?: unknown }).url !== 'string') return false;
  for (const field in destination) if (field !== 'transport' && field !== 'url') return false;
  return true;
}

export class HttpTargets {
  readonly #targets = new Map<string, HttpTarget>();
  /** Destinations of a URL alone, by that URL: no key to build for them (three lookups per delivery). */
  readonly #byUrl = new Map<string, HttpTarget>();

  /** Throws InvalidOptionError / DestinationNotAllowedError as resolveHttpDestination does. */
  resolve(destination: TransportDestination<string>): HttpTarget {
    if (isUrlOnly(destination)) {
      let target = this.#byUrl.get(destination.url);
      if (target === undefined) {
        target = toTarget(resolveHttpDestination(destination));
        if (this.#byUrl.size >= MAX_TARGETS) this.#byUrl.clear();
        this.#byUrl.set(destination.url, target);
      }
      return target;
    }
    const key = keyOf(destination);
    if (key === undefined) return toTarget(resolveHttpDestination(destination));
    let target = this.#targets.get(key);
    if (target === undefined) {
      target = toTarget(resolveHttpDestination(destination));
      if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
      this.#targets.set(key, target);
    }
    return target;
  }
}
