import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalLockedError, sqliteJournal, sqliteSnapshotStore } from '../../../journal/sqlite/index.js';
import { replayAll, sequenceNrs, writeEvents } from '../../../journal/testkit/fixtures.js';
import { SnapshotMetadata } from '../../../src/persistence/snapshot-metadata.js';
import { SnapshotSelectionCriteria } from '../../../src/persistence/snapshot-selection-criteria.js';
import { Child } from './child-process.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE = 'test/crash/fixtures/sqlite-lock-holder.ts';

describe('sqlite: one process per database file', () => {
  it('refuses a file held by another process with ERR_JOURNAL_LOCKED naming the path, and opens it once released', async () => {
    const path = join(dir, 'held-by-child.db');
    const holder = new Child(FIXTURE, ['hold', path]);
    await holder.waitForLine((line) => line === 'ready');

    const journal = sqliteJournal({ path, lockTimeoutMs: 50 });
    const failure = await journal.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(JournalLockedError);
    expect((failure as JournalLockedError).code).toBe('ERR_JOURNAL_LOCKED');
    expect((failure as JournalLockedError).message).toContain(path);
    await expect(sqliteSnapshotStore({ path, lockTimeoutMs: 0 }).start()).rejects.toMatchObject({ code: 'ERR_JOURNAL_LOCKED' });

    holder.process.stdin.end();
    expect((await holder.exited).code).toBe(0);

    const reopened = sqliteJournal({ path });
    await reopened.start();
    expect(sequenceNrs(await replayAll(reopened, 'holder'))).toEqual([1]);
    await reopened.close();
  });

  it('holds the file while open (journal and snapshot store share it) and lets go after the last close', async () => {
    const path = join(dir, 'held-here.db');
    const journal = sqliteJournal({ path });
    const snapshots = sqliteSnapshotStore({ path });
    await journal.start();
    await snapshots.start();
    await writeEvents(journal, 'p', 1, 3);

    const probe = new Child(FIXTURE, ['probe', path]);
    expect(await probe.waitForLine(() => true)).toBe('locked ERR_JOURNAL_LOCKED');
    expect((await probe.exited).code).toBe(3);

    // Closing one user keeps the shared connection (and the lock) for the other.
    await journal.close();
    await snapshots.save(new SnapshotMetadata('p', 3, 1), { serializerId: 'json', manifest: 'S', payload: '{}' });
    expect((await snapshots.load('p', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(3);
    await snapshots.close();

    const second = new Child(FIXTURE, ['probe', path]);
    expect(await second.waitForLine(() => true)).toBe('opened');
    expect((await second.exited).code).toBe(0);
  });
});
