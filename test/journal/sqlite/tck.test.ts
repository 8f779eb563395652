import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { sqliteJournal, sqliteSnapshotStore } from '../../../journal/sqlite/index.js';
import { journalSpec, snapshotStoreSpec } from '../../../journal/testkit/index.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-tck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Both plugins on one file, as the service runs them: they share one connection.
const shared = join(dir, 'shared.db');
journalSpec('sqlite', () => sqliteJournal({ path: shared }));
snapshotStoreSpec('sqlite', () => sqliteSnapshotStore({ path: shared }));

// Small transactions and pages, so that batch splitting and paging are exercised by the same checks.
journalSpec('sqlite, tiny transactions and pages', () => sqliteJournal({ path: join(dir, 'tiny.db'), maxEventsPerTransaction: 3, replayPageSize: 2, synchronous: 'NORMAL' }));
