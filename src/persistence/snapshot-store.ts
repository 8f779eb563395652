import type { SerializedValue } from './serialized-value.js';
import type { SnapshotMetadata } from './snapshot-metadata.js';
import type { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';

export interface StoredSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly snapshot: SerializedValue;
}

/**
 * The snapshot store plugin SPI (Akka's SnapshotStore). Contract, checked by `snapshotStoreSpec`:
 * - `load` returns the snapshot with the highest sequence number among those of `persistenceId` that
 *   match `criteria` (ties: the newest timestamp), or undefined. A snapshot that cannot be read is
 *   skipped (and logged) so the next older one is used, rather than failing recovery.
 * - `save` stores the snapshot; saving again with the same persistenceId and sequenceNr replaces it.
 *   A crash during `save` must never leave a torn snapshot that `load` would return.
 * - `delete` removes the one snapshot with that persistenceId and sequenceNr (and timestamp, when it is
 *   not 0); `deleteMatching` removes every snapshot of `persistenceId` matching `criteria`.
 *   Deleting what does not exist is not an error.
 */
export interface SnapshotStore {
  load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined>;
  save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void>;
  delete(metadata: SnapshotMetadata): Promise<void>;
  deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void>;
  start?(): Promise<void>;
  close(): Promise<void>;
}
