export { InMemoryJournal, inMemoryJournal, type InMemoryJournalOptions } from './in-memory-journal.js';
export { InMemorySnapshotStore, inMemorySnapshotStore } from './in-memory-snapshot-store.js';
export { EventRejectedError, SequenceNrConflictError } from './errors.js';
