import { afterAll, describe } from 'vitest';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { journalSpec, snapshotStoreSpec } from '../../../journal/testkit/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('pg_tck');
afterAll(() => pg?.cleanup());

describe.runIf(pg)('PostgreSQL plugins', () => {
  // jsonb keeps the parsed value, not the text (key order, whitespace and duplicate keys are not kept),
  // so JSON payloads are compared after JSON.parse.
  journalSpec('postgres', () => postgresJournal({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-tck' }), {
    jsonPayloads: 'semantic',
    largeStreamEvents: 20_000,
  });
  snapshotStoreSpec('postgres', () => postgresSnapshotStore({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-tck' }), {
    jsonPayloads: 'semantic',
  });
});
