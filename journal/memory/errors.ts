import { SteadfastError } from '../../src/actor/errors.js';

/**
 * A write's sequence numbers do not continue its stream: another writer (or an earlier incarnation
 * that is still alive) already stored these numbers, or the write skips some. Reported as the
 * `failed` outcome of that one AtomicWrite, so the actor stops instead of forking its history.
 */
export class SequenceNrConflictError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly expectedSequenceNr: number,
    readonly actualSequenceNr: number,
  ) {
    super(
      'ERR_SEQUENCE_NR_CONFLICT',
      `write for persistenceId "${persistenceId}" starts at sequenceNr ${actualSequenceNr} but the stream continues at ${expectedSequenceNr}`,
    );
  }
}

/** The journal cannot store this event in its format (reported as the `rejected` outcome). */
export class EventRejectedError extends SteadfastError {
  constructor(
    readonly persistenceId: string,
    readonly sequenceNr: number,
    reason: string,
  ) {
    super('ERR_EVENT_REJECTED', `event ${sequenceNr} of persistenceId "${persistenceId}" was rejected: ${reason}`);
  }
}
