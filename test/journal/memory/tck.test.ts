import { inMemoryJournal, inMemorySnapshotStore } from '../../../journal/memory/index.js';
import { journalSpec, snapshotStoreSpec } from '../../../journal/testkit/index.js';
import { pino } from 'pino';

const silent = pino({ level: 'silent' });

journalSpec('in-memory', () => inMemoryJournal({ logger: silent }));
snapshotStoreSpec('in-memory', () => inMemorySnapshotStore());
