/**
 * The SQLite file shrinks after deletions: databases are in incremental auto-vacuum mode (an older
 * file is switched by one VACUUM when first opened), and the checkpointer returns free pages and
 * truncates a fully copied WAL while the journal stays open.
 */
import { SCHEMA_VERSION } from '../../../journal/sqlite/schema.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteJournal, sqliteSnapshotStore } from '../../../journal/sqlite/index.js';
import { jsonEvent, replayAll, sequenceNrs } from '../../../journal/testkit/fixtures.js';
import { SnapshotMetadata, SnapshotSelectionCriteria } from '../../../src/persistence/spi.js';
import { eventually } from '../../support/eventually.js';

const dir = mkdtempSync(join(tmpdir(), 'steadfast-sqlite-vacuum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `v${++files}.db`);
const MiB = 1024 * 1024;

function fileBytes(path: string): number {
  const size = (file: string): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

describe('SQLite space reclamation', () => {
  it('creates databases in incremental auto-vacuum mode', async () => {
    const path = freshPath();
    const journal = sqliteJournal({ path });
    await journal.start();
    await journal.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('switches a database written before (no auto-vacuum) once, keeping its events', async () => {
    const path = freshPath();
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    // The tables as version 1 created them, without auto-vacuum.
    old.exec(`CREATE TABLE journal_event (ordering INTEGER PRIMARY KEY, persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, writer_uuid TEXT NOT NULL,
      timestamp INTEGER NOT NULL, serializer_id TEXT NOT NULL, manifest TEXT NOT NULL, payload BLOB NOT NULL, tags TEXT, UNIQUE (persistence_id, sequence_nr));
      CREATE TABLE journal_metadata (persistence_id TEXT PRIMARY KEY, highest_sequence_nr INTEGER NOT NULL, deleted_to INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE snapshot (persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, timestamp INTEGER NOT NULL, serializer_id TEXT NOT NULL,
      manifest TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));`);
    const event = jsonEvent('a', 1);
    old
      .prepare('INSERT INTO journal_event (persistence_id, sequence_nr, writer_uuid, timestamp, serializer_id, manifest, payload) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('a', 1, event.writerUuid, event.timestamp, event.serializerId, event.manifest, event.payload);
    old.pragma('user_version = 1');
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    old.close();

    const journal = sqliteJournal({ path });
    expect(sequenceNrs(await replayAll(journal, 'a'))).toEqual([1]);
    await journal.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('gives the space of deleted events and snapshots back while the journal stays open', async () => {
    const path = freshPath();
    const journal = sqliteJournal({ path });
    const snapshots = sqliteSnapshotStore({ path });
    const text = 'x'.repeat(4000);
    for (let batch = 0; batch < 40; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => {
        const sequenceNr = batch * 100 + i + 1;
        return jsonEvent('big', sequenceNr, { payload: JSON.stringify({ sequenceNr, text }) });
      });
      await journal.writeMessages([{ persistenceId: 'big', events }]);
    }
    for (let n = 1; n <= 4; n++) {
      await snapshots.save(new SnapshotMetadata('big', n * 1000, n), { serializerId: 'json', manifest: 'S', payload: JSON.stringify({ text: text.repeat(500) }) });
    }
    const grown = await eventually(
      async () => fileBytes(path),
      (bytes) => bytes > 20 * MiB,
      10_000,
      'the file holding 16 MB of events and 8 MB of snapshots',
    );
    await journal.deleteMessagesTo('big', 4000);
    await snapshots.deleteMatching('big', new SnapshotSelectionCriteria({ maxSequenceNr: 3999 }));
    // One 2 MB snapshot is left; the rest must come back to the file system without a restart.
    await eventually(
      async () => fileBytes(path),
      (bytes) => bytes < 6 * MiB,
      30_000,
      `the database + WAL shrinking from ${grown} bytes`,
    );
    expect(await journal.readHighestSequenceNr('big', 0)).toBe(4000);
    expect((await snapshots.load('big', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(4000);
    await snapshots.close();
    await journal.close();
  });
});
