/**
 * The plugin SPI: everything a journal or snapshot-store plugin needs from steadfast, in one module.
 * Plugins (journal/*, and yours) import from here and nowhere else in src/, so the core's internal
 * file layout can change without breaking them. The TCK in `steadfast/testkit` checks the contract.
 */
export { asError, InvalidOptionError, SteadfastError } from '../actor/errors.js';
export {
  EventRejectedError,
  InvalidDeleteError,
  JournalRejectedError,
  SequenceNrConflictError,
  SequenceNumberOverflowError,
  SerializationError,
  DeserializationError,
} from './errors.js';
export { WRITE_OK, type AsyncWriteJournal, type Lease, type ReplayedEvent, type StoreFailureReason, type WriteOutcome } from './journal.js';
export { highestSequenceNr, lowestSequenceNr, type AtomicWrite, type PersistentRepr } from './persistent-repr.js';
export type { SerializedValue } from './serialized-value.js';
export { SnapshotMetadata } from './snapshot-metadata.js';
export { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';
export type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';
export { WriteBatcher, type WriteBatcherOptions } from './write-batcher.js';
export { isQueryable, type JournalQueries, type OrderedRepr, type QueryableJournal } from './journal-queries.js';
export { hasOffsetStore, type OffsetStore, type OffsetStoringJournal, type SkippedEvent } from './offset-store.js';
