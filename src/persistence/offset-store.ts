/**
 * Where projections keep their progress: the last offset a projection handled, by projection name, in
 * the journal's own store (the SPI beside `AsyncWriteJournal` and `SnapshotStore`; `offsetStoreSpec`
 * in `steadfast/testkit` is its TCK). A journal that has one returns it from `offsetStore()`.
 */
export interface OffsetStore {
  /** The offset stored for `projection`; 0 when none (start from the beginning). */
  readOffset(projection: string): Promise<number>;
  /** Stores `offset` for `projection`, replacing the one before (an offset never moves back unless reset). */
  saveOffset(projection: string, offset: number): Promise<void>;
  /** Forgets the offset: the projection starts again from 0 (a rebuild). */
  resetOffset(projection: string): Promise<void>;
  /** Records an event a projection gave up on ("skip" after its retries), with the error. */
  recordSkipped(projection: string, skipped: SkippedEvent): Promise<void>;
  /** The events `projection` skipped, oldest first. */
  skippedEvents(projection: string): Promise<readonly SkippedEvent[]>;
}

export interface SkippedEvent {
  readonly offset: number;
  readonly persistenceId: string;
  readonly sequenceNr: number;
  readonly error: string;
  /** Wall-clock milliseconds. */
  readonly at: number;
}

export interface OffsetStoringJournal {
  offsetStore(): OffsetStore;
}

export function hasOffsetStore(journal: object): journal is OffsetStoringJournal {
  return typeof (journal as Partial<OffsetStoringJournal>).offsetStore === 'function';
}
