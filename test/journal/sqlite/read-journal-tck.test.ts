import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteJournal } from '../../../journal/sqlite/index.js';
import { offsetStoreSpec, readJournalSpec } from '../../../journal/testkit/index.js';
import { jsonEvent } from '../../../journal/testkit/fixtures.js';
import { MAX_SEQUENCE_NR } from '../../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-query-tck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

readJournalSpec('sqlite', () => sqliteJournal({ path: join(dir, 'queries.db') }));

describe('SQLite queries', () => {
  it('never hands out an ordering twice, also after the newest events were deleted', async () => {
    const journal = sqliteJournal({ path: join(dir, 'reuse.db') });
    try {
      await journal.start();
      await journal.writeMessages([{ persistenceId: 'a', events: [jsonEvent('a', 1), jsonEvent('a', 2)] }]);
      const [, second] = await journal.queries().allEvents(0, MAX_SEQUENCE_NR, 10);
      await journal.deleteMessagesTo('a', 2);
      await journal.writeMessages([{ persistenceId: 'b', events: [jsonEvent('b', 1)] }]);
      // A reader that saw `second` resumes after it and must find b's event.
      const after = await journal.queries().allEvents(second!.offset, MAX_SEQUENCE_NR, 10);
      expect(after.map((event) => [event.persistenceId, event.sequenceNr])).toEqual([['b', 1]]);
    } finally {
      await journal.close();
    }
  });

  it('migrates a file of the first schema: its events keep their orderings and its tags are indexed', async () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE journal_event (ordering INTEGER PRIMARY KEY, persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, writer_uuid TEXT NOT NULL,
      timestamp INTEGER NOT NULL, serializer_id TEXT NOT NULL, manifest TEXT NOT NULL, payload BLOB NOT NULL, tags TEXT, UNIQUE (persistence_id, sequence_nr));
      CREATE TABLE journal_metadata (persistence_id TEXT PRIMARY KEY, highest_sequence_nr INTEGER NOT NULL, deleted_to INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE snapshot (persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, timestamp INTEGER NOT NULL, serializer_id TEXT NOT NULL,
        manifest TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));
      INSERT INTO journal_event VALUES (7, 'old', 1, 'w', 1, 'json', 'M', '{"n":1}', '["blue","red"]');
      INSERT INTO journal_event VALUES (9, 'old', 2, 'w', 2, 'json', 'M', '{"n":2}', NULL);
      PRAGMA user_version = 1;`);
    db.close();
    const journal = sqliteJournal({ path });
    try {
      await journal.start();
      const queries = journal.queries();
      expect((await queries.eventsByTag('red', 0, MAX_SEQUENCE_NR, 10)).map((event) => [event.offset, event.sequenceNr])).toEqual([[7, 1]]);
      await journal.writeMessages([{ persistenceId: 'old', events: [jsonEvent('old', 3, { tags: ['red'] })] }]);
      const red = await queries.eventsByTag('red', 7, MAX_SEQUENCE_NR, 10);
      expect(red.map((event) => event.sequenceNr)).toEqual([3]);
      expect(red[0]!.offset).toBeGreaterThan(9);
    } finally {
      await journal.close();
    }
  });
});

offsetStoreSpec('sqlite', () => sqliteJournal({ path: join(dir, 'offsets.db') }).offsetStore());
