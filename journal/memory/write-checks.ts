import { type AtomicWrite, EventRejectedError, SequenceNrConflictError, type WriteOutcome } from '../../src/persistence/spi.js';

/**
 * Checks one AtomicWrite against the stream it extends; shared by the journals that keep the
 * stream's highest sequence number at hand (memory, SQLite). Returns undefined when the write may be
 * stored, else the outcome to report for it.
 *
 * A write must continue its stream exactly (first = highest + 1, then +1 per event): a write that
 * starts lower collides with stored events, and one that starts higher would leave a hole that
 * recovery could never explain. Both mean two writers disagree about the stream, hence `failed`.
 * Malformed events (wrong payload type, non-string tags) are `rejected`: nothing is wrong with the
 * stream, this one event just cannot be stored.
 */
export function checkAtomicWrite(write: AtomicWrite, highest: number): WriteOutcome | undefined {
  const { persistenceId, events } = write;
  let expected = highest + 1;
  for (const event of events) {
    if (event.persistenceId !== persistenceId) {
      return { status: 'rejected', cause: new EventRejectedError(persistenceId, `it belongs to persistenceId "${event.persistenceId}"`, { sequenceNr: event.sequenceNr }) };
    }
    if (event.sequenceNr !== expected) {
      const last = events[events.length - 1]!.sequenceNr;
      return { status: 'failed', cause: new SequenceNrConflictError(persistenceId, event.sequenceNr, last, { expectedSequenceNr: expected }) };
    }
    if (!Number.isSafeInteger(event.sequenceNr)) {
      return { status: 'rejected', cause: new EventRejectedError(persistenceId, 'sequenceNr is not a safe integer', { sequenceNr: event.sequenceNr }) };
    }
    const reason = malformed(event.payload, event.serializerId, event.manifest, event.writerUuid, event.timestamp, event.tags);
    if (reason !== undefined) {
      return { status: 'rejected', cause: new EventRejectedError(persistenceId, reason, { sequenceNr: event.sequenceNr }) };
    }
    expected++;
  }
  return undefined;
}

function malformed(payload: unknown, serializerId: unknown, manifest: unknown, writerUuid: unknown, timestamp: unknown, tags: unknown): string | undefined {
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) return 'payload must be a string or a Uint8Array';
  if (typeof serializerId !== 'string') return 'serializerId must be a string';
  if (typeof manifest !== 'string') return 'manifest must be a string';
  if (typeof writerUuid !== 'string') return 'writerUuid must be a string';
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'timestamp must be a finite number';
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) return 'tags must be an array of strings';
  return undefined;
}
