import type { SerializedValue, SnapshotMetadata, SnapshotSelectionCriteria, SnapshotStore, StoredSnapshot } from '../../src/persistence/spi.js';

/**
 * Snapshots kept in memory, per persistenceId sorted by (sequenceNr, timestamp) ascending so `load`
 * scans from the newest end. close() keeps them, like the in-memory journal.
 */
export class InMemorySnapshotStore implements SnapshotStore {
  readonly #byId = new Map<string, StoredSnapshot[]>();

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    const list = this.#byId.get(persistenceId);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const stored = list[i]!;
      if (criteria.matches(stored.metadata)) return stored;
    }
    return undefined;
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    const list = (this.#byId.get(metadata.persistenceId) ?? []).filter((s) => s.metadata.sequenceNr !== metadata.sequenceNr);
    // Copy the bytes: the caller may reuse its buffer, and a snapshot must stay what was saved.
    const payload = typeof snapshot.payload === 'string' ? snapshot.payload : snapshot.payload.slice();
    list.push({ metadata, snapshot: { serializerId: snapshot.serializerId, manifest: snapshot.manifest, payload } });
    list.sort((a, b) => a.metadata.sequenceNr - b.metadata.sequenceNr || a.metadata.timestamp - b.metadata.timestamp);
    this.#byId.set(metadata.persistenceId, list);
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    this.#remove(metadata.persistenceId, (m) => m.sequenceNr === metadata.sequenceNr && (metadata.timestamp === 0 || m.timestamp === metadata.timestamp));
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    this.#remove(persistenceId, (m) => criteria.matches(m));
  }

  #remove(persistenceId: string, doomed: (metadata: SnapshotMetadata) => boolean): void {
    const list = this.#byId.get(persistenceId);
    if (list === undefined) return;
    const kept = list.filter((s) => !doomed(s.metadata));
    if (kept.length === 0) this.#byId.delete(persistenceId);
    else this.#byId.set(persistenceId, kept);
  }

  /** Keeps every snapshot: a second ActorSystem may start on this same instance. */
  async close(): Promise<void> {}
}

export function inMemorySnapshotStore(): InMemorySnapshotStore {
  return new InMemorySnapshotStore();
}
