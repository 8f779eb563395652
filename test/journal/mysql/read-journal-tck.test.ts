import { afterAll, describe } from 'vitest';
import { mysqlJournal } from '../../../journal/mysql/index.js';
import { offsetStoreSpec, readJournalSpec } from '../../../journal/testkit/index.js';
import { mysqlResource } from '../../support/services.js';

const db = await mysqlResource('mysql_query_tck');
afterAll(() => db?.cleanup());

describe.runIf(db)('MySQL queries', () => {
  readJournalSpec('mysql', () => mysqlJournal({ connectionString: db!.connectionString }));
  let offsets: ReturnType<typeof mysqlJournal> | undefined;
  offsetStoreSpec(
    'mysql',
    () => {
      offsets = mysqlJournal({ connectionString: db!.connectionString });
      return offsets.offsetStore();
    },
    async () => offsets?.close(),
  );
});
