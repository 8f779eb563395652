/** Identifies one snapshot: whose state, after which event, and when it was taken. */
export class SnapshotMetadata {
  constructor(
    readonly persistenceId: string,
    readonly sequenceNr: number,
    /** Wall-clock milliseconds when the snapshot was taken. */
    readonly timestamp: number,
  ) {}
}
