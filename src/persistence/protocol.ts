/**
 * Messages a persistent actor receives from the persistence layer, recognised with `instanceof`
 * (Akka's names). Recovery messages go to `onRecover`, the others to `onCommand`.
 */
import type { Recovery } from './recovery.js';
import type { SnapshotMetadata } from './snapshot-metadata.js';
import type { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';

/** First message of a recovery when a snapshot matched: restore the state from `snapshot`. */
export class SnapshotOffer<Snapshot = unknown> {
  constructor(
    readonly metadata: SnapshotMetadata,
    readonly snapshot: Snapshot,
  ) {}
}

/** Last message of a recovery: every event was replayed; stashed commands come next. */
export class RecoveryCompleted {
  static readonly instance = new RecoveryCompleted();
  private constructor() {}
}

/** Starts a recovery by hand, for an actor created with `Recovery.none`. */
export class Recover {
  constructor(readonly recovery?: Recovery) {}
}

export class SaveSnapshotSuccess {
  constructor(readonly metadata: SnapshotMetadata) {}
}

export class SaveSnapshotFailure {
  constructor(
    readonly metadata: SnapshotMetadata,
    readonly cause: Error,
  ) {}
}

export class DeleteSnapshotSuccess {
  constructor(readonly metadata: SnapshotMetadata) {}
}

export class DeleteSnapshotFailure {
  constructor(
    readonly metadata: SnapshotMetadata,
    readonly cause: Error,
  ) {}
}

export class DeleteSnapshotsSuccess {
  constructor(readonly criteria: SnapshotSelectionCriteria) {}
}

export class DeleteSnapshotsFailure {
  constructor(
    readonly criteria: SnapshotSelectionCriteria,
    readonly cause: Error,
  ) {}
}

export class DeleteMessagesSuccess {
  constructor(readonly toSequenceNr: number) {}
}

export class DeleteMessagesFailure {
  constructor(
    readonly cause: Error,
    readonly toSequenceNr: number,
  ) {}
}

/** Reply to `loadSnapshot`: the newest matching snapshot, if any. */
export class LoadSnapshotResult<Snapshot = unknown> {
  constructor(
    readonly snapshot: { readonly metadata: SnapshotMetadata; readonly snapshot: Snapshot } | undefined,
    readonly toSequenceNr: number,
  ) {}
}

export class LoadSnapshotFailed {
  constructor(readonly cause: Error) {}
}
