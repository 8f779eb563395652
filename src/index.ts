/**
 * `steadfast`: the actor runtime, persistent actors, at-least-once delivery, and the plugins that
 * need no driver (in-memory journal and snapshot store, local-file snapshot store).
 * SQLite, PostgreSQL and RabbitMQ have entry points of their own, so their drivers load only on demand.
 */
import { fileSnapshotStore } from '../journal/file/index.js';
import { inMemoryJournal } from '../journal/memory/index.js';
import { ActorSystem as CoreActorSystem, type ActorSystemOptions } from './actor/actor-system.js';

/**
 * The actor system, with the bare library's plugin defaults: the in-memory journal (it warns that
 * nothing survives a restart) and local-file snapshots under ./snapshots, for whichever of `journal`
 * and `snapshotStore` the options leave out. Wired here, explicitly, rather than installed as a side
 * effect of importing: the core's own `ActorSystem` (src/actor) has no defaults and says so.
 */
export class ActorSystem extends CoreActorSystem {
  static override create(name: string, options: ActorSystemOptions = {}): ActorSystem {
    const withDefaults: ActorSystemOptions =
      options !== null && typeof options === 'object'
        ? {
            ...options,
            journal: options.journal ?? ((system) => inMemoryJournal({ logger: system.log })),
            snapshotStore: options.snapshotStore ?? ((system) => fileSnapshotStore({ dir: './snapshots', logger: system.log })),
          }
        : options;
    return new ActorSystem(name, withDefaults);
  }
}

export * from './actor/index.js';
export * from './persistence/index.js';
export * from './query/index.js';
export * from './entities/index.js';
export { fileSnapshotStore, FileSnapshotStore, CorruptSnapshotFileError, type FileSnapshotStoreOptions } from '../journal/file/index.js';
export { inMemoryJournal, InMemoryJournal, inMemorySnapshotStore, InMemorySnapshotStore, type InMemoryJournalOptions } from '../journal/memory/index.js';
export * from '../delivery/index.js';
