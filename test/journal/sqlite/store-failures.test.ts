/**
 * What the SQLite journal says about its store when it fails: real SQLITE_FULL (max_page_count on
 * its own connection) is `disk_full`, and the write probe sees no room without writing; a file that
 * is no database is refused at open with an error naming it and what to do (`corrupt`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptDatabaseError, classifySqliteError, sqliteJournal, StoreFullError } from '../../../journal/sqlite/index.js';
import { validateDatabaseOptions } from '../../../journal/sqlite/options.js';
import { acquireDatabase } from '../../../journal/sqlite/shared-database.js';
import { jsonEvent } from '../../../journal/testkit/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-store-failures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite store failures', () => {
  it('a full database: the write fails with SQLITE_FULL, classified disk_full; the probe says so without writing, and passes once there is room', async () => {
    const path = join(dir, 'full.db');
    const journal = sqliteJournal({ path });
    await journal.start();
    await journal.probeWrite();
    const database = acquireDatabase('test', validateDatabaseOptions('test', { path }));
    try {
      database.db.pragma(`max_page_count = ${database.db.pragma('page_count', { simple: true }) as number}`);
      const probed = await journal.probeWrite().catch((error: unknown) => error);
      expect(probed).toBeInstanceOf(StoreFullError);
      expect(journal.classifyError(probed)).toBe('disk_full');
      const big = 'x'.repeat(20_000);
      const failed = await journal.writeMessages([{ persistenceId: 'p', events: [jsonEvent('p', 1, { payload: JSON.stringify({ big }) })] }]).catch((error: unknown) => error);
      expect((failed as { code?: string }).code).toBe('SQLITE_FULL');
      expect(journal.classifyError(failed)).toBe('disk_full');
      expect(classifySqliteError(new Error('wrapped', { cause: failed }))).toBe('disk_full');
      expect(await journal.readHighestSequenceNr('p', 0)).toBe(0);

      database.db.pragma('max_page_count = 1073741823');
      await journal.probeWrite();
      expect(await journal.writeMessages([{ persistenceId: 'p', events: [jsonEvent('p', 1, { payload: JSON.stringify({ big }) })] }])).toEqual([{ status: 'ok' }]);
    } finally {
      await database.release();
      await journal.close();
    }
  });

  it('a file that is no database is refused at open, naming it and what to do', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'not a database\n'.repeat(500));
    const journal = sqliteJournal({ path });
    const error = await journal.start().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CorruptDatabaseError);
    expect((error as CorruptDatabaseError).code).toBe('ERR_CORRUPT_DATABASE');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/file is not a database.*restore it from a backup, or move it away/);
    expect(journal.classifyError(error)).toBe('corrupt');
    await journal.close();
  });

  it('errors that say nothing about the store are not classified', () => {
    expect(classifySqliteError(Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBeUndefined();
    expect(classifySqliteError(new Error('plain'))).toBeUndefined();
  });
});
