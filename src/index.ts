/**
 * `steadfast`: the actor runtime, persistent actors, at-least-once delivery, and the plugins that
 * need no driver (in-memory journal and snapshot store, local-file snapshot store).
 * SQLite, PostgreSQL and RabbitMQ have entry points of their own, so their drivers load only on demand.
 */
import { fileSnapshotStore } from '../journal/file/index.js';
import { inMemoryJournal } from '../journal/memory/index.js';
import { configureDefaultPlugins } from './persistence/persistence.js';

configureDefaultPlugins({
  journal: (system) => inMemoryJournal({ logger: system.log }),
  snapshotStore: (system) => fileSnapshotStore({ dir: './snapshots', logger: system.log }),
});

export * from './actor/index.js';
export * from './persistence/index.js';
export { fileSnapshotStore, FileSnapshotStore, CorruptSnapshotFileError, type FileSnapshotStoreOptions } from '../journal/file/index.js';
export { inMemoryJournal, InMemoryJournal, inMemorySnapshotStore, InMemorySnapshotStore, type InMemoryJournalOptions } from '../journal/memory/index.js';
export * from '../delivery/index.js';
