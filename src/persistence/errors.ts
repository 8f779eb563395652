import { SteadfastError } from '../actor/errors.js';

/** A second live actor claimed a persistenceId that an actor of this system already uses. */
export class PersistenceIdTakenError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly existingPath: string,
  ) {
    super('ERR_PERSISTENCE_ID_TAKEN', `persistenceId "${persistenceId}" is already used by ${existingPath}; two incarnations writing one event stream would corrupt it`);
  }
}

/** ActorSystem.create without a journal or snapshot store, in a program that never loaded the defaults. */
export class NoJournalConfiguredError extends SteadfastError {
  constructor() {
    super('ERR_NO_JOURNAL', 'no journal configured: pass `journal` and `snapshotStore` to ActorSystem.create (the ActorSystem of the `steadfast` entry point brings defaults)');
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
    super('ERR_RECOVERY_TIMEOUT', `recovery of "${persistenceId}" made no progress for ${timeoutMs} ms (last sequence number ${lastSequenceNr})`);
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

/**
 * A write does not continue its stream: another writer (a second incarnation of the actor, e.g. in
 * another process) already stored these sequence numbers, or the write would leave a hole. Journals
 * report it as the `failed` outcome of that one AtomicWrite, never merge, so the actor stops and the
 * stream keeps exactly one history. One class for every plugin, so callers can test for it alike.
 */
export class SequenceNrConflictError extends SteadfastError {
  /** Where the stream continues, when the journal knows it (memory, SQLite); PostgreSQL only sees the key collide. */
  readonly expectedSequenceNr: number | undefined;

  constructor(
    readonly persistenceId: string,
    readonly fromSequenceNr: number,
    readonly toSequenceNr: number,
    options?: { expectedSequenceNr?: number; cause?: unknown },
  ) {
    const range = fromSequenceNr === toSequenceNr ? `${fromSequenceNr}` : `${fromSequenceNr}..${toSequenceNr}`;
    const expected = options?.expectedSequenceNr;
    super(
      'ERR_SEQUENCE_NR_CONFLICT',
      expected === undefined
        ? `persistenceId "${persistenceId}": sequence number ${range} is already stored by another writer`
        : `persistenceId "${persistenceId}": write of sequence number ${range} does not continue the stream at ${expected} ` +
            `(${fromSequenceNr < expected ? 'already stored by another writer' : 'it would leave a hole'})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.expectedSequenceNr = expected;
  }
}

/**
 * The journal cannot store these events in its format (not JSON text where JSON is required, a value
 * the store cannot represent, a malformed event). Reported as the `rejected` outcome of that one
 * AtomicWrite: nothing of it was stored, the stream is healthy, the actor goes on.
 */
export class EventRejectedError extends SteadfastError {
  /** The offending event, when the journal can tell which one it was. */
  readonly sequenceNr: number | undefined;

  constructor(
    readonly persistenceId: string,
    reason: string,
    options?: { sequenceNr?: number; cause?: unknown },
  ) {
    const which = options?.sequenceNr === undefined ? '' : ` event ${options.sequenceNr}`;
    super(
      'ERR_EVENT_REJECTED',
      `persistenceId "${persistenceId}"${which}: rejected by the journal: ${reason}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.sequenceNr = options?.sequenceNr;
  }
}
