import { afterAll, describe } from 'vitest';
import { postgresJournal } from '../../../journal/postgres/index.js';
import { offsetStoreSpec, readJournalSpec } from '../../../journal/testkit/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('pg_query_tck');
afterAll(() => pg?.cleanup());

describe.runIf(pg)('PostgreSQL queries', () => {
  readJournalSpec('postgres', () => postgresJournal({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-query-tck' }));
  let offsets: ReturnType<typeof postgresJournal> | undefined;
  offsetStoreSpec(
    'postgres',
    () => {
      offsets = postgresJournal({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: 'sf-test-offsets-tck' });
      return offsets.offsetStore();
    },
    async () => offsets?.close(),
  );
});
