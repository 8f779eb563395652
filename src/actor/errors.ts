/**
 * Every error steadfast throws or reports is a `SteadfastError` with a stable `code`, so callers can
 * branch on `error.code` instead of parsing messages (which may be reworded between releases).
 */
import type { SteadfastErrorCode } from './error-codes.js';

export type { SteadfastErrorCode } from './error-codes.js';

export class SteadfastError extends Error {
  readonly code: SteadfastErrorCode;

  constructor(code: SteadfastErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A thrown or rejected value as an Error (non-Error values are wrapped, their text kept). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Options or arguments that cannot be used: raised once, at the edge, naming the offending setting. */
export class InvalidOptionError extends SteadfastError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message);
  }
}

export class InvalidActorNameError extends SteadfastError {
  constructor(message: string) {
    super('ERR_INVALID_ACTOR_NAME', message);
  }
}

export class ActorNameTakenError extends SteadfastError {
  constructor(readonly path: string) {
    super('ERR_ACTOR_NAME_TAKEN', `an actor named ${path} already exists`);
  }
}

export class AskTimeoutError extends SteadfastError {
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_ASK_TIMEOUT', `no reply from ${path} within ${timeoutMs} ms`);
  }
}

export class ActorSystemTerminatedError extends SteadfastError {
  constructor(systemName: string) {
    super('ERR_SYSTEM_TERMINATED', `actor system "${systemName}" has been terminated`);
  }
}

export class StashOverflowError extends SteadfastError {
  constructor(
    readonly path: string,
    readonly capacity: number,
  ) {
    super('ERR_STASH_OVERFLOW', `stash of ${path} is full (capacity ${capacity})`);
  }
}
