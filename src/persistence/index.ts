/**
 * Persistent actors and the plugin SPI: event sourcing, recovery, snapshots, deletion, serialization
 * and event adapters. Storage plugins (journal/) and at-least-once delivery (delivery/) build on this.
 */
export * from './circuit-breaker.js';
export * from './errors.js';
export { EventAdapters, Tagged, type EventAdapter } from './event-adapter.js';
export { WRITE_OK, type AsyncWriteJournal, type Lease, type ReplayedEvent, type WriteOutcome } from './journal.js';
export { Persistence } from './persistence.js';
export type { PersistenceOptions, PersistentActorSettings, PluginOption, StashOverflowStrategy } from './persistence-settings.js';
export { PersistentActor, type Handler, type PersistenceReply, type RecoveryMessage } from './persistent-actor.js';
export { highestSequenceNr, lowestSequenceNr, type AtomicWrite, type PersistentRepr } from './persistent-repr.js';
export * from './protocol.js';
export { Recovery, type RecoveryOptions } from './recovery.js';
export {
  assertJsonRoundTrips,
  formatManifest,
  JsonSerializer,
  parseManifest,
  SerializationRegistry,
  typeNameOf,
  type Manifest,
  type Serializer,
} from './serialization.js';
export type { SerializedValue } from './serialized-value.js';
export { SnapshotMetadata } from './snapshot-metadata.js';
export { SnapshotSelectionCriteria, type SnapshotSelectionCriteriaOptions } from './snapshot-selection-criteria.js';
export type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';
export { WriteBatcher, type WriteBatcherOptions } from './write-batcher.js';
export { ReceivePersistentActor } from './receive-persistent-actor.js';
export { isPersistenceReply, type CommandHandler, type MessageClass, type OfType, type ReceiveStyle, type RecoverHandler, type TypeName } from './receive-handlers.js';
