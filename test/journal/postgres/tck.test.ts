import { afterAll, describe } from 'vitest';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { journalSpec, snapshotStoreSpec } from '../../../journal/testkit/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('pg_tck');
afterAll(() => pg?.cleanup());

describe.runIf(pg)('PostgreSQL plugins', () => {
  // The json column keeps JSON text verbatim, so the strict ('exact') payload comparison applies.
  journalSpec('postgres', () => postgresJournal({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-tck' }), {
    jsonPayloads: 'exact',
    largeStreamEvents: 20_000,
  });
  snapshotStoreSpec('postgres', () =>
    postgresSnapshotStore({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-tck' }),
  );
});
