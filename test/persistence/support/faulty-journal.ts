import type {
  AsyncWriteJournal,
  AtomicWrite,
  PersistentRepr,
  SerializedValue,
  SnapshotMetadata,
  SnapshotSelectionCriteria,
  SnapshotStore,
  StoredSnapshot,
  WriteOutcome,
  ReplayedEvent,
} from '../../../src/index.js';

type Awaitable<T> = T | Promise<T>;

/**
 * Wraps a journal and lets a test inject faults and observe calls: every SPI call is counted, and each
 * behaviour can be replaced by a hook. Hooks receive the inner journal so they can delegate.
 */
export class FaultyJournal implements AsyncWriteJournal {
  readonly calls = { writeMessages: 0, replayMessages: 0, readHighestSequenceNr: 0, deleteMessagesTo: 0, close: 0 };
  /** Writes as they were handed to the journal (before any fault). */
  readonly writes: AtomicWrite[][] = [];
  activeReplays = 0;
  maxActiveReplays = 0;
  readonly replayOrder: string[] = [];

  onWrite?: (writes: readonly AtomicWrite[], inner: AsyncWriteJournal) => Awaitable<readonly WriteOutcome[]>;
  onReplay?: (args: { persistenceId: string; from: number; to: number; max: number; onMessage: ReplayedEvent }, inner: AsyncWriteJournal) => Promise<void>;
  onReadHighest?: (persistenceId: string, inner: AsyncWriteJournal) => Promise<number>;
  onDelete?: (persistenceId: string, toSequenceNr: number, inner: AsyncWriteJournal) => Promise<void>;

  constructor(readonly inner: AsyncWriteJournal) {}

  async writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    this.calls.writeMessages++;
    this.writes.push([...writes]);
    if (this.onWrite) return this.onWrite(writes, this.inner);
    return this.inner.writeMessages(writes);
  }

  async replayMessages(persistenceId: string, from: number, to: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    this.calls.replayMessages++;
    this.replayOrder.push(persistenceId);
    this.activeReplays++;
    this.maxActiveReplays = Math.max(this.maxActiveReplays, this.activeReplays);
    try {
      if (this.onReplay) await this.onReplay({ persistenceId, from, to, max, onMessage }, this.inner);
      else await this.inner.replayMessages(persistenceId, from, to, max, onMessage);
    } finally {
      this.activeReplays--;
    }
  }

  async readHighestSequenceNr(persistenceId: string, fromSequenceNr: number): Promise<number> {
    this.calls.readHighestSequenceNr++;
    if (this.onReadHighest) return this.onReadHighest(persistenceId, this.inner);
    return this.inner.readHighestSequenceNr(persistenceId, fromSequenceNr);
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    this.calls.deleteMessagesTo++;
    if (this.onDelete) return this.onDelete(persistenceId, toSequenceNr, this.inner);
    return this.inner.deleteMessagesTo(persistenceId, toSequenceNr);
  }

  async close(): Promise<void> {
    this.calls.close++;
    await this.inner.close();
  }
}

/** Wraps a snapshot store; `failSave` / `failLoad` / `failDelete` make the next calls reject. */
export class FaultySnapshotStore implements SnapshotStore {
  failSave: Error | undefined;
  failLoad: Error | undefined;
  failDelete: Error | undefined;
  readonly calls = { load: 0, save: 0, delete: 0, deleteMatching: 0 };

  constructor(readonly inner: SnapshotStore) {}

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    this.calls.load++;
    if (this.failLoad) throw this.failLoad;
    return this.inner.load(persistenceId, criteria);
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    this.calls.save++;
    if (this.failSave) throw this.failSave;
    return this.inner.save(metadata, snapshot);
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    this.calls.delete++;
    if (this.failDelete) throw this.failDelete;
    return this.inner.delete(metadata);
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    this.calls.deleteMatching++;
    if (this.failDelete) throw this.failDelete;
    return this.inner.deleteMatching(persistenceId, criteria);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

/** Reads back every stored event of `persistenceId` (through the SPI, as a plugin user would). */
export async function storedEvents(journal: AsyncWriteJournal, persistenceId: string): Promise<PersistentRepr[]> {
  const events: PersistentRepr[] = [];
  await journal.replayMessages(persistenceId, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event) => {
    events.push(event);
  });
  return events;
}

/** The JSON payloads of the stored events, parsed. */
export async function storedPayloads(journal: AsyncWriteJournal, persistenceId: string): Promise<unknown[]> {
  return (await storedEvents(journal, persistenceId)).map((event) => JSON.parse(event.payload as string) as unknown);
}
