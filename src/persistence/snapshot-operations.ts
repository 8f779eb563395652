import type { ActorRef } from '../actor/actor-ref.js';
import { InvalidDeleteError } from './errors.js';
import type { Persistence } from './persistence.js';
import {
  DeleteMessagesFailure,
  DeleteMessagesSuccess,
  DeleteSnapshotFailure,
  DeleteSnapshotsFailure,
  DeleteSnapshotsSuccess,
  DeleteSnapshotSuccess,
  LoadSnapshotFailed,
  LoadSnapshotResult,
  SaveSnapshotFailure,
  SaveSnapshotSuccess,
} from './protocol.js';
import type { SerializedValue } from './serialized-value.js';
import { SnapshotMetadata } from './snapshot-metadata.js';
import type { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';
import { asError } from './write-pipeline.js';

/**
 * Snapshot and deletion requests of one persistent actor. Each is asynchronous and answers with a
 * message to the actor itself (Akka's protocol), so the outcome is handled in `onCommand`, one
 * message at a time like everything else.
 */
export interface OperationsHost {
  readonly persistence: Persistence;
  readonly persistenceId: string;
  readonly self: ActorRef;
  readonly lastSequenceNr: number;
}

export function saveSnapshot(host: OperationsHost, snapshot: unknown): void {
  const metadata = new SnapshotMetadata(host.persistenceId, host.lastSequenceNr, Date.now());
  let serialized: SerializedValue;
  try {
    serialized = host.persistence.serialize(snapshot);
  } catch (error) {
    // Checked before anything is stored, like events: a snapshot that cannot be read back is refused.
    host.self.tell(new SaveSnapshotFailure(metadata, asError(error)));
    return;
  }
  host.persistence.saveSnapshot(metadata, serialized).then(
    () => host.self.tell(new SaveSnapshotSuccess(metadata)),
    (error: unknown) => host.self.tell(new SaveSnapshotFailure(metadata, asError(error))),
  );
}

export function deleteSnapshot(host: OperationsHost, sequenceNr: number): void {
  const metadata = new SnapshotMetadata(host.persistenceId, sequenceNr, 0);
  host.persistence.deleteSnapshot(metadata).then(
    () => host.self.tell(new DeleteSnapshotSuccess(metadata)),
    (error: unknown) => host.self.tell(new DeleteSnapshotFailure(metadata, asError(error))),
  );
}

export function deleteSnapshots(host: OperationsHost, criteria: SnapshotSelectionCriteria): void {
  host.persistence.deleteSnapshots(host.persistenceId, criteria).then(
    () => host.self.tell(new DeleteSnapshotsSuccess(criteria)),
    (error: unknown) => host.self.tell(new DeleteSnapshotsFailure(criteria, asError(error))),
  );
}

export function loadSnapshot(host: OperationsHost, persistenceId: string, criteria: SnapshotSelectionCriteria, toSequenceNr: number): void {
  host.persistence.loadSnapshot(persistenceId, criteria.limitTo(toSequenceNr)).then(
    (stored) => {
      let result: LoadSnapshotResult;
      try {
        const snapshot = stored ? { metadata: stored.metadata, snapshot: host.persistence.serialization.deserialize(stored.snapshot) } : undefined;
        result = new LoadSnapshotResult(snapshot, toSequenceNr);
      } catch (error) {
        host.self.tell(new LoadSnapshotFailed(asError(error)));
        return;
      }
      host.self.tell(result);
    },
    (error: unknown) => host.self.tell(new LoadSnapshotFailed(asError(error))),
  );
}

/**
 * Deletes events up to `toSequenceNr`. Past lastSequenceNr is refused (Akka does the same): deleting
 * events the actor has not seen would silently drop what another incarnation wrote. `validate` lets a
 * subclass refuse (AtLeastOnceDelivery protects its delivery state).
 */
export function deleteMessages(host: OperationsHost, toSequenceNr: number, validate: (target: number) => void): void {
  const last = host.lastSequenceNr;
  const target = toSequenceNr === Number.MAX_SAFE_INTEGER ? last : toSequenceNr;
  if (!Number.isSafeInteger(target) || target < 0 || target > last) {
    const error = new InvalidDeleteError(`cannot delete messages to ${toSequenceNr}: the highest persisted sequence number of "${host.persistenceId}" is ${last}`);
    host.self.tell(new DeleteMessagesFailure(error, toSequenceNr));
    return;
  }
  try {
    validate(target);
  } catch (error) {
    host.self.tell(new DeleteMessagesFailure(asError(error), target));
    return;
  }
  host.persistence.deleteMessagesTo(host.persistenceId, target).then(
    () => host.self.tell(new DeleteMessagesSuccess(target)),
    (error: unknown) => host.self.tell(new DeleteMessagesFailure(asError(error), target)),
  );
}
