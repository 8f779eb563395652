import type { SerializedValue } from './serialized-value.js';

/** One stored event, as journals see it: already serialized, with its position in its stream. */
export interface PersistentRepr extends SerializedValue {
  readonly persistenceId: string;
  /** 1, 2, 3, ... per persistenceId: never reused, never skipped. */
  readonly sequenceNr: number;
  /** Identifies the incarnation that wrote it; a replay shows where one writer took over from another. */
  readonly writerUuid: string;
  /** Wall-clock milliseconds when the event was persisted (informational; ordering uses sequenceNr). */
  readonly timestamp: number;
  readonly tags: readonly string[];
}

/**
 * The events of one `persist` / `persistAll` call: a journal stores all of them or none of them.
 * They all belong to `persistenceId` and their sequence numbers are consecutive.
 */
export interface AtomicWrite {
  readonly persistenceId: string;
  readonly events: readonly PersistentRepr[];
}

export function lowestSequenceNr(write: AtomicWrite): number {
  return write.events[0]?.sequenceNr ?? 0;
}

export function highestSequenceNr(write: AtomicWrite): number {
  return write.events[write.events.length - 1]?.sequenceNr ?? 0;
}
