import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { InvalidOptionError } from '../../src/actor/errors.js';

export interface HttpTransportOptions {
  /** A request (waiting for a free slot included) fails when no complete answer came within this time, ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** Requests in flight at most; further sends wait for a slot within timeoutMs. Default 64. */
  readonly maxConcurrency?: number;
  /** Sent as User-Agent. Default 'steadfast'. */
  readonly userAgent?: string;
  /** Default: the TransportContext's logger. */
  readonly logger?: Logger;
  /**
   * Limits destinations to these hosts: names (`hooks.example.com`), wildcards (`*.example.com`),
   * IPv4/IPv6 addresses and CIDR ranges (`10.0.0.0/8`, `[fd00::/8]`), each optionally with `:port`.
   * Without it any host is allowed except link-local and cloud-metadata addresses, which are refused
   * either way (see allowed-hosts.ts). A refused destination throws DestinationNotAllowedError
   * (`ERR_DESTINATION_NOT_ALLOWED`) from validateDestination, so nothing is persisted.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Resolves host names (default dns.lookup); its answers are checked against the policy before a
   * connection is made. For tests, or a custom resolver.
   */
  readonly lookup?: LookupFunction;
}

export interface ResolvedHttpTransportOptions {
  readonly timeoutMs: number;
  readonly maxConcurrency: number;
  readonly userAgent: string;
  readonly logger: Logger | undefined;
  readonly allowedHosts: readonly string[] | undefined;
  readonly lookup: LookupFunction | undefined;
}

const KNOWN = new Set(['timeoutMs', 'maxConcurrency', 'userAgent', 'logger', 'allowedHosts', 'lookup']);

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`httpTransport option ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(`httpTransport option ${name} must be a function`);
  return value;
}

export function resolveHttpTransportOptions(options: HttpTransportOptions): ResolvedHttpTransportOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('httpTransport options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`httpTransport: unknown option "${key}"`);
  }
  const userAgent = options.userAgent ?? 'steadfast';
  if (typeof userAgent !== 'string' || userAgent.length === 0 || /[\r\n]/.test(userAgent)) {
    throw new InvalidOptionError('httpTransport option userAgent must be a non-empty single-line string');
  }
  const logger = options.logger;
  if (logger !== undefined && typeof (logger as Partial<Logger>).warn !== 'function') throw new InvalidOptionError('httpTransport option logger must be a pino logger');
  return {
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, 10_000),
    maxConcurrency: positiveInteger('maxConcurrency', options.maxConcurrency, 64),
    userAgent,
    logger,
    allowedHosts: options.allowedHosts,
    lookup: optionalFunction('lookup', options.lookup),
  };
}
