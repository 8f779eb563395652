import { afterAll, describe } from 'vitest';
import { mysqlJournal } from '../../../journal/mysql/index.js';
import { leaseSpec } from '../../../journal/testkit/index.js';
import { mysqlResource } from '../../support/services.js';

const db = await mysqlResource('mysql_lease_tck');
afterAll(() => db?.cleanup());

describe.runIf(db)('MySQL leases', () => {
  leaseSpec('mysql', () => mysqlJournal({ connectionString: db!.connectionString, poolSize: 2 }));
});
