import { afterAll, describe } from 'vitest';
import { postgresJournal } from '../../../journal/postgres/index.js';
import { leaseSpec } from '../../../journal/testkit/index.js';
import { postgresResource } from '../../support/services.js';
import { appName } from './helpers.js';

const pg = await postgresResource('pg_lease_tck');
afterAll(() => pg?.cleanup());

describe.runIf(pg)('PostgreSQL leases', () => {
  leaseSpec('postgres', () => postgresJournal({ connectionString: pg!.connectionString, schema: pg!.schema, applicationName: appName('lease-tck'), poolSize: 2 }));
});
