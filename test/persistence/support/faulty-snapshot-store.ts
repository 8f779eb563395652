import type { SerializedValue, SnapshotMetadata, SnapshotSelectionCriteria, SnapshotStore, StoredSnapshot } from '../../../src/index.js';

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
