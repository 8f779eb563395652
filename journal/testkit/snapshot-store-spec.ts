import { type SerializedValue, SnapshotMetadata, SnapshotSelectionCriteria, type SnapshotStore } from '../../src/persistence/spi.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allBytes, expectSameSerialized, type JsonComparison, uniquePersistenceId } from './fixtures.js';

export interface SnapshotStoreSpecOptions {
  /** Per-test timeout in ms (default: vitest's). */
  timeoutMs?: number;
  /** See JournalSpecOptions.jsonPayloads. */
  jsonPayloads?: JsonComparison;
}

const BASE_TIMESTAMP = 1_700_000_000_000;

function snapshotOf(persistenceId: string, sequenceNr: number): SerializedValue {
  return { serializerId: 'json', manifest: 'State.v1', payload: JSON.stringify({ persistenceId, sequenceNr }) };
}

/**
 * The snapshot store TCK (what Akka's SnapshotStoreSpec checks): every snapshot store plugin must
 * pass it. `factory` is called once for the suite; each test uses persistenceIds of its own.
 */
export function snapshotStoreSpec(name: string, factory: () => SnapshotStore | Promise<SnapshotStore>, options: SnapshotStoreSpecOptions = {}): void {
  const timeout = options.timeoutMs;
  const json = options.jsonPayloads ?? 'exact';

  describe(`snapshotStoreSpec: ${name}`, () => {
    let store: SnapshotStore;

    beforeAll(async () => {
      store = await factory();
      await store.start?.();
    });

    afterAll(async () => {
      await store?.close();
    });

    /** Snapshots at sequenceNr 1..5, taken at BASE_TIMESTAMP + 100 * sequenceNr (Akka's fixture). */
    async function fiveSnapshots(label: string): Promise<{ pid: string; metadata: SnapshotMetadata[] }> {
      const pid = uniquePersistenceId(label);
      const metadata: SnapshotMetadata[] = [];
      for (let nr = 1; nr <= 5; nr++) {
        const meta = new SnapshotMetadata(pid, nr, BASE_TIMESTAMP + 100 * nr);
        await store.save(meta, snapshotOf(pid, nr));
        metadata.push(meta);
      }
      return { pid, metadata };
    }

    async function loadedSequenceNr(pid: string, criteria: SnapshotSelectionCriteria): Promise<number | undefined> {
      return (await store.load(pid, criteria))?.metadata.sequenceNr;
    }

    it('loads nothing for an unknown persistenceId', { timeout }, async () => {
      expect(await store.load(uniquePersistenceId('unknown'), SnapshotSelectionCriteria.latest)).toBeUndefined();
    });

    it('loads the most recent snapshot, with its metadata and payload', { timeout }, async () => {
      const { pid, metadata } = await fiveSnapshots('latest');
      const loaded = await store.load(pid, SnapshotSelectionCriteria.latest);
      expect(loaded).toBeDefined();
      expect(loaded!.metadata.persistenceId).toBe(pid);
      expect(loaded!.metadata.sequenceNr).toBe(5);
      expect(loaded!.metadata.timestamp).toBe(metadata[4]!.timestamp);
      expectSameSerialized(loaded!.snapshot, snapshotOf(pid, 5), json);
    });

    it('loads the most recent snapshot up to a maximum sequence number', { timeout }, async () => {
      const { pid } = await fiveSnapshots('max-seq');
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBe(3);
      expectSameSerialized((await store.load(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 })))!.snapshot, snapshotOf(pid, 3), json);
    });

    it('loads the most recent snapshot up to a maximum sequence number and timestamp', { timeout }, async () => {
      const { pid } = await fiveSnapshots('max-seq-ts');
      const criteria = new SnapshotSelectionCriteria({ maxSequenceNr: 4, maxTimestamp: BASE_TIMESTAMP + 200 });
      expect(await loadedSequenceNr(pid, criteria)).toBe(2);
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxTimestamp: BASE_TIMESTAMP + 350 }))).toBe(3);
    });

    it('honours minimum sequence number and timestamp', { timeout }, async () => {
      const { pid } = await fiveSnapshots('min');
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3, minSequenceNr: 3 }))).toBe(3);
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3, minSequenceNr: 4 }))).toBeUndefined();
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 2, minTimestamp: BASE_TIMESTAMP + 300 }))).toBeUndefined();
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ minTimestamp: BASE_TIMESTAMP + 300 }))).toBe(5);
    });

    it('loads nothing when no snapshot matches the sequence number or the timestamp', { timeout }, async () => {
      const { pid } = await fiveSnapshots('no-match');
      expect(await store.load(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 0 }))).toBeUndefined();
      expect(await store.load(pid, new SnapshotSelectionCriteria({ maxTimestamp: BASE_TIMESTAMP + 50 }))).toBeUndefined();
      expect(await store.load(pid, new SnapshotSelectionCriteria({ minSequenceNr: 6 }))).toBeUndefined();
    });

    it('loads nothing with SnapshotSelectionCriteria.none', { timeout }, async () => {
      const { pid } = await fiveSnapshots('none');
      expect(await store.load(pid, SnapshotSelectionCriteria.none)).toBeUndefined();
    });

    it('deletes one snapshot identified by its metadata', { timeout }, async () => {
      const { pid, metadata } = await fiveSnapshots('delete-one');
      await store.delete(metadata[2]!);
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBe(2);
      expect(await loadedSequenceNr(pid, SnapshotSelectionCriteria.latest)).toBe(5);
    });

    it('deletes one snapshot by sequence number alone when the timestamp is 0', { timeout }, async () => {
      const { pid } = await fiveSnapshots('delete-one-any-ts');
      await store.delete(new SnapshotMetadata(pid, 5, 0));
      expect(await loadedSequenceNr(pid, SnapshotSelectionCriteria.latest)).toBe(4);
    });

    it('keeps a snapshot whose timestamp differs from the one to delete', { timeout }, async () => {
      const { pid, metadata } = await fiveSnapshots('delete-other-ts');
      await store.delete(new SnapshotMetadata(pid, 5, metadata[4]!.timestamp + 1));
      expect(await loadedSequenceNr(pid, SnapshotSelectionCriteria.latest)).toBe(5);
    });

    it('deletes every snapshot matching criteria', { timeout }, async () => {
      const { pid } = await fiveSnapshots('delete-matching');
      await store.deleteMatching(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 }));
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBeUndefined();
      expect(await loadedSequenceNr(pid, SnapshotSelectionCriteria.latest)).toBe(5);
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 4 }))).toBe(4);
    });

    it('deletes only snapshots inside both bounds (sequence number and timestamp)', { timeout }, async () => {
      const { pid } = await fiveSnapshots('delete-matching-ts');
      await store.deleteMatching(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 4, maxTimestamp: BASE_TIMESTAMP + 200, minSequenceNr: 2 }));
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 2 }))).toBe(1);
      expect(await loadedSequenceNr(pid, new SnapshotSelectionCriteria({ maxSequenceNr: 3 }))).toBe(3);
    });

    it('deletes everything with SnapshotSelectionCriteria.latest, and only for that persistenceId', { timeout }, async () => {
      const { pid } = await fiveSnapshots('delete-all');
      const other = await fiveSnapshots('delete-all-other');
      await store.deleteMatching(pid, SnapshotSelectionCriteria.latest);
      expect(await store.load(pid, SnapshotSelectionCriteria.latest)).toBeUndefined();
      expect(await loadedSequenceNr(other.pid, SnapshotSelectionCriteria.latest)).toBe(5);
    });

    it('does not fail when deleting what does not exist', { timeout }, async () => {
      const pid = uniquePersistenceId('delete-missing');
      await store.delete(new SnapshotMetadata(pid, 3, BASE_TIMESTAMP));
      await store.deleteMatching(pid, SnapshotSelectionCriteria.latest);
      expect(await store.load(pid, SnapshotSelectionCriteria.latest)).toBeUndefined();
    });

    it('replaces a snapshot saved again with the same sequence number', { timeout }, async () => {
      const { pid } = await fiveSnapshots('resave');
      const replacement: SerializedValue = { serializerId: 'json', manifest: 'State.v2', payload: '{"replaced":true}' };
      await store.save(new SnapshotMetadata(pid, 5, BASE_TIMESTAMP + 10_000), replacement);
      const loaded = await store.load(pid, SnapshotSelectionCriteria.latest);
      expect(loaded!.metadata.sequenceNr).toBe(5);
      expect(loaded!.metadata.timestamp).toBe(BASE_TIMESTAMP + 10_000);
      expectSameSerialized(loaded!.snapshot, replacement, json);
      // Replaced, not shadowed: once it is deleted, the older copy does not come back.
      await store.delete(new SnapshotMetadata(pid, 5, 0));
      expect(await loadedSequenceNr(pid, SnapshotSelectionCriteria.latest)).toBe(4);
    });

    it('round-trips binary payloads exactly (all byte values, empty, large)', { timeout }, async () => {
      const pid = uniquePersistenceId('binary');
      const big = new Uint8Array(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
      const values: SerializedValue[] = [
        { serializerId: 'bin', manifest: 'Bytes', payload: allBytes() },
        { serializerId: 'bin', manifest: '', payload: new Uint8Array(0) },
        { serializerId: 'bin', manifest: 'Big', payload: big },
        { serializerId: 'json', manifest: 'Text', payload: '{"unicode":"é ✓ 😀","quote":"\\""}' },
      ];
      for (const [i, value] of values.entries()) {
        await store.save(new SnapshotMetadata(pid, i + 1, BASE_TIMESTAMP + i), value);
      }
      for (const [i, value] of values.entries()) {
        const loaded = await store.load(pid, new SnapshotSelectionCriteria({ maxSequenceNr: i + 1 }));
        expect(loaded?.metadata.sequenceNr).toBe(i + 1);
        expectSameSerialized(loaded!.snapshot, value, json);
      }
    });

    it('keeps snapshots of different persistenceIds apart', { timeout }, async () => {
      const a = uniquePersistenceId('isolation');
      const b = `${a}-suffix`;
      await store.save(new SnapshotMetadata(a, 1, BASE_TIMESTAMP), snapshotOf(a, 1));
      await store.save(new SnapshotMetadata(b, 7, BASE_TIMESTAMP), snapshotOf(b, 7));
      expect(await loadedSequenceNr(a, SnapshotSelectionCriteria.latest)).toBe(1);
      expect(await loadedSequenceNr(b, SnapshotSelectionCriteria.latest)).toBe(7);
    });
  });
}
