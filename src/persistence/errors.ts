import { SteadfastError } from '../actor/errors.js';

/** A second live actor claimed a persistenceId that an actor of this system already uses. */
export class PersistenceIdTakenError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly existingPath: string,
  ) {
    super(
      'ERR_PERSISTENCE_ID_TAKEN',
      `persistenceId "${persistenceId}" is already used by ${existingPath}; two incarnations writing one event stream would corrupt it`,
    );
  }
}

export class InvalidPersistenceIdError extends SteadfastError {
  constructor(message: string) {
    super('ERR_INVALID_PERSISTENCE_ID', message);
  }
}

/** The value cannot be stored so that it reads back the same; nothing was written. */
export class SerializationError extends SteadfastError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SERIALIZATION', message, options);
  }
}

/** Stored data could not be turned back into a value (unknown serializer or manifest, corrupt payload). */
export class DeserializationError extends SteadfastError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DESERIALIZATION', message, options);
  }
}

export class RecoveryTimeoutError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly timeoutMs: number,
    readonly lastSequenceNr: number,
  ) {
    super(
      'ERR_RECOVERY_TIMEOUT',
      `recovery of "${persistenceId}" made no progress for ${timeoutMs} ms (last sequence number ${lastSequenceNr})`,
    );
  }
}

export class CircuitBreakerOpenError extends SteadfastError {
  constructor(
    readonly store: string,
    readonly retryInMs: number,
  ) {
    super('ERR_CIRCUIT_OPEN', `${store} failed repeatedly; calls are refused for another ${Math.ceil(retryInMs)} ms`);
  }
}

export class CallTimeoutError extends SteadfastError {
  constructor(
    readonly store: string,
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_CALL_TIMEOUT', `${store} did not answer ${operation} within ${timeoutMs} ms`);
  }
}

/** `deleteMessages` asked for more than was persisted. */
export class InvalidDeleteError extends SteadfastError {
  constructor(message: string) {
    super('ERR_INVALID_DELETE', message);
  }
}

/** Sequence numbers are JavaScript numbers: a stream may never pass Number.MAX_SAFE_INTEGER. */
export class SequenceNumberOverflowError extends SteadfastError {
  constructor(readonly persistenceId: string) {
    super('ERR_SEQUENCE_OVERFLOW', `event stream "${persistenceId}" reached Number.MAX_SAFE_INTEGER`);
  }
}

/** The journal plugin reported that it cannot store an event (onPersistRejected carries it). */
export class JournalRejectedError extends SteadfastError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_JOURNAL_REJECTED', message, options);
  }
}
