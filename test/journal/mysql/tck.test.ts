import { afterAll, describe } from 'vitest';
import { mysqlJournal, mysqlSnapshotStore } from '../../../journal/mysql/index.js';
import { journalSpec, snapshotStoreSpec } from '../../../journal/testkit/index.js';
import { mysqlResource } from '../../support/services.js';

const db = await mysqlResource('mysql_tck');
afterAll(() => db?.cleanup());

describe.runIf(db)('MySQL plugins', () => {
  // LONGTEXT keeps the JSON text as written, so payloads come back byte for byte.
  journalSpec('mysql', () => mysqlJournal({ connectionString: db!.connectionString }), { largeStreamEvents: 20_000 });
  snapshotStoreSpec('mysql', () => mysqlSnapshotStore({ connectionString: db!.connectionString }));
});
