export { InMemoryJournal, inMemoryJournal, type InMemoryJournalOptions } from './in-memory-journal.js';
export { InMemorySnapshotStore, inMemorySnapshotStore } from './in-memory-snapshot-store.js';
// Re-exported so plugin users need not reach into the core; it is the one class every journal reports.
export { EventRejectedError, SequenceNrConflictError } from '../../src/persistence/spi.js';
