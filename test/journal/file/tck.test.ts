import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { pino } from 'pino';
import { fileSnapshotStore } from '../../../journal/file/index.js';
import { snapshotStoreSpec } from '../../../journal/testkit/index.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-file-tck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

snapshotStoreSpec('file', () => fileSnapshotStore({ dir: join(dir, 'nested', 'snapshots'), logger: pino({ level: 'silent' }) }));
