import { SteadfastError } from '../src/actor/errors.js';

/** A setting has a value the service cannot use. The message names the setting and is printed alone, as one line. */
export class ConfigError extends SteadfastError {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super('ERR_CONFIG', `invalid configuration: ${setting} ${message}`);
  }
}

/** The service could not start (journal unreachable, data directory locked by another process, ...). */
export class StartupError extends SteadfastError {
  constructor(message: string, cause: unknown) {
    super('ERR_STARTUP', message, { cause });
  }
}

/**
 * A request the API answers with a 4xx/5xx. `code` here is the API's stable error code (the JSON body's
 * `error.code`), snake_case like the rest of the API: an answer to a caller, not a library error, so it
 * is not a SteadfastError (whose codes are the ERR_ ones of docs/errors.md).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (e.g. Allow on a 405). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** Extra fields of the body's `error` object besides code and message (e.g. a 503's `reason`). */
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends HttpError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

export class NotFoundError extends HttpError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

/** The request contradicts what the service already holds (a reused idempotency key, a delivery no longer in flight). */
export class ConflictError extends HttpError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { Allow: allowed.join(', ') });
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `the request body is larger than ${limit} bytes (MAX_BODY_BYTES)`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(got: string | undefined) {
    super(415, 'unsupported_media_type', `the request body must be application/json, got ${got === undefined ? 'no Content-Type' : JSON.stringify(got)}`);
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(code: string, message: string, options: { readonly retryAfterSeconds?: number; readonly reason?: string } = {}) {
    super(503, code, message, { 'Retry-After': String(options.retryAfterSeconds ?? 1) }, options.reason === undefined ? {} : { reason: options.reason });
  }
}

/** The outbox holds as many unconfirmed deliveries as it may (maxUnconfirmedMessages): back-pressure. */
export class TooManyRequestsError extends HttpError {
  constructor(message: string) {
    super(429, 'too_many_unconfirmed', message, { 'Retry-After': '5' });
  }
}
