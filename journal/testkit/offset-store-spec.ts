/**
 * The offset-store TCK: what projections rely on in every store. `factory` is called once for the
 * suite; each test uses projection names of its own.
 *
 *   offsetStoreSpec('sqlite', async () => (await sqliteJournal({ path })).offsetStore());
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OffsetStore } from '../../src/persistence/spi.js';
import { uniquePersistenceId } from './fixtures.js';

export function offsetStoreSpec(name: string, factory: () => OffsetStore | Promise<OffsetStore>, cleanup?: () => Promise<void>): void {
  describe(`offsetStoreSpec: ${name}`, () => {
    let store: OffsetStore;

    beforeAll(async () => {
      store = await factory();
    });

    afterAll(async () => {
      await cleanup?.();
    });

    it('reads 0 for a projection that stored nothing, then the offset it stored last', async () => {
      const projection = uniquePersistenceId('offsets');
      expect(await store.readOffset(projection)).toBe(0);
      await store.saveOffset(projection, 17);
      await store.saveOffset(projection, 42);
      expect(await store.readOffset(projection)).toBe(42);
      expect(await store.readOffset(uniquePersistenceId('other'))).toBe(0);
    });

    it('keeps offsets up to Number.MAX_SAFE_INTEGER exactly, and names with any characters apart', async () => {
      const a = uniquePersistenceId('offsets / é : %');
      const b = `${a} `;
      await store.saveOffset(a, Number.MAX_SAFE_INTEGER);
      await store.saveOffset(b, 1);
      expect(await store.readOffset(a)).toBe(Number.MAX_SAFE_INTEGER);
      expect(await store.readOffset(b)).toBe(1);
    });

    it('reset forgets the offset and the skipped events: the projection starts from 0', async () => {
      const projection = uniquePersistenceId('reset');
      await store.saveOffset(projection, 9);
      await store.recordSkipped(projection, { offset: 3, persistenceId: 'p', sequenceNr: 1, error: 'boom', at: 1 });
      await store.resetOffset(projection);
      expect(await store.readOffset(projection)).toBe(0);
      expect(await store.skippedEvents(projection)).toEqual([]);
    });

    it('records skipped events with their error, oldest first', async () => {
      const projection = uniquePersistenceId('skipped');
      await store.recordSkipped(projection, { offset: 5, persistenceId: 'p-1', sequenceNr: 2, error: 'bad input', at: 1_700_000_000_000 });
      await store.recordSkipped(projection, { offset: 8, persistenceId: 'p-2', sequenceNr: 1, error: 'still bad', at: 1_700_000_000_001 });
      expect(await store.skippedEvents(projection)).toEqual([
        { offset: 5, persistenceId: 'p-1', sequenceNr: 2, error: 'bad input', at: 1_700_000_000_000 },
        { offset: 8, persistenceId: 'p-2', sequenceNr: 1, error: 'still bad', at: 1_700_000_000_001 },
      ]);
    });

    it('refuses an empty name and offsets that are not integers >= 0', async () => {
      await expect(store.readOffset('')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      await expect(store.saveOffset(uniquePersistenceId('bad'), -1)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      await expect(store.saveOffset(uniquePersistenceId('bad'), 1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    });
  });
}
