import { SteadfastError } from '../../src/actor/errors.js';

/** The endpoint answered, but not with a 2xx: the delivery stays unconfirmed and is sent again. */
export class HttpStatusError extends SteadfastError {
  constructor(
    readonly status: number,
    readonly target: string,
  ) {
    super('ERR_HTTP_STATUS', `${target} answered ${status}`);
  }
}

/** No complete answer within `timeoutMs` (waiting for a free slot included). */
export class HttpTimeoutError extends SteadfastError {
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_HTTP_TIMEOUT', `${target}: no answer within ${timeoutMs} ms`);
  }
}

/** Connection refused, reset, DNS failure, TLS error, ... */
export class HttpNetworkError extends SteadfastError {
  constructor(target: string, cause: unknown) {
    super('ERR_HTTP_NETWORK', `${target}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class HttpTransportClosedError extends SteadfastError {
  constructor() {
    super('ERR_HTTP_CLOSED', 'httpTransport is closed');
  }
}

/**
 * The destination may not be requested: not http(s), a link-local / cloud-metadata address, not in
 * `allowedHosts`, or a name that resolved to a refused address (see allowed-hosts.ts). Thrown by
 * validateDestination (nothing is persisted) and, for stored deliveries, by send (a failed attempt).
 */
export class DestinationNotAllowedError extends SteadfastError {
  constructor(message: string) {
    super('ERR_DESTINATION_NOT_ALLOWED', message);
  }
}
