import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { classifyMysqlError, EventRejectedError, LATEST_VERSION, migrate, mysqlJournal, SchemaBehindError, SequenceNrConflictError } from '../../../journal/mysql/index.js';
import { leaseLockName } from '../../../journal/mysql/advisory-leases.js';
import { InvalidOptionError } from '../../../src/index.js';
import { eventualValue } from '../../support/eventually.js';
import { mysqlResource } from '../../support/services.js';
import { pid, write } from './helpers.js';

const db = await mysqlResource('mysql_journal');
afterAll(() => db?.cleanup());

describe('mysqlJournal options', () => {
  it('refuses a connection string without a database, unknown options and a bad pool size, naming them', () => {
    expect(() => mysqlJournal({ connectionString: 'mysql://root@127.0.0.1:3306' })).toThrow(/must name a database/);
    expect(() => mysqlJournal({ connectionString: 'postgres://x/db' })).toThrow(/mysql:\/\//);
    expect(() => mysqlJournal({ connectionString: 'mysql://h/db', schema: 'x' } as never)).toThrow(/unknown option "schema"/);
    expect(() => mysqlJournal({ connectionString: 'mysql://h/db', poolSize: 0 })).toThrow(InvalidOptionError);
    expect(() => mysqlJournal({ connectionString: 'mysql://h/bad-name' })).toThrow(/MySQL identifier/);
  });

  it('classifies connection failures as unreachable', () => {
    expect(classifyMysqlError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unreachable');
    expect(classifyMysqlError(Object.assign(new Error('read only'), { errno: 1290, sqlState: 'HY000' }))).toBe('read_only');
    expect(classifyMysqlError(new Error('something else'))).toBeUndefined();
  });
});

describe.runIf(db)('MySQL journal', () => {
  it('refuses a second writer of the same sequence number with SequenceNrConflictError, keeping the first', async () => {
    const [a, b] = [mysqlJournal({ connectionString: db!.connectionString }), mysqlJournal({ connectionString: db!.connectionString })];
    try {
      const id = pid('conflict');
      expect((await a.writeMessages([write(id, 1, 2, { writerUuid: 'a' })]))[0]!.status).toBe('ok');
      const [outcome] = await b.writeMessages([write(id, 2, 3, { writerUuid: 'b' })]);
      expect(outcome!.status).toBe('failed');
      expect((outcome as { cause: Error }).cause).toBeInstanceOf(SequenceNrConflictError);
      const [rows] = await db!.admin.query<RowDataPacket[]>('select sequence_nr, writer_uuid from journal where persistence_id = ? order by sequence_nr', [id]);
      expect(rows.map((row) => [Number(row.sequence_nr), row.writer_uuid])).toEqual([
        [1, 'a'],
        [2, 'a'],
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rejects what the columns cannot hold instead of cutting it, and keeps ids that differ by case or trailing spaces apart', async () => {
    const journal = mysqlJournal({ connectionString: db!.connectionString });
    try {
      const [tooLong] = await journal.writeMessages([write('x'.repeat(513), 1)]);
      expect((tooLong as { cause: Error }).cause).toBeInstanceOf(EventRejectedError);
      const base = pid('Case');
      for (const id of [base, base.toLowerCase(), `${base} `]) expect((await journal.writeMessages([write(id, 1)]))[0]!.status).toBe('ok');
      expect(await journal.readHighestSequenceNr(`${base} `, 0)).toBe(1);
      const ids = await journal.queries().persistenceIds(undefined, 1000);
      expect(ids.filter((id) => id.toLowerCase().startsWith(base.toLowerCase()))).toHaveLength(3);
    } finally {
      await journal.close();
    }
  });

  it('probes writes without storing anything, and answers ping', async () => {
    const journal = mysqlJournal({ connectionString: db!.connectionString });
    try {
      await journal.probeWrite();
      await journal.ping();
      const [rows] = await db!.admin.query<RowDataPacket[]>('select count(*) as n from journal_sequence');
      expect(Number(rows[0]!.n)).toBe(1);
    } finally {
      await journal.close();
    }
  });

  it('migrates alone with migrate(), and autoMigrate: false refuses a database that is behind', async () => {
    const fresh = await db!.newDatabase('mysql_migrate');
    const strict = mysqlJournal({ connectionString: fresh, autoMigrate: false });
    await expect(strict.start()).rejects.toBeInstanceOf(SchemaBehindError);
    expect((await migrate({ connectionString: fresh })).applied).toEqual([1, 2, 3]);
    const again = await migrate({ connectionString: fresh });
    expect(again).toMatchObject({ applied: [], version: LATEST_VERSION });
    await strict.start();
    expect((await strict.writeMessages([write(pid('after-migrate'), 1)]))[0]!.status).toBe('ok');
    await strict.close();
  });
});

describe.runIf(db)('MySQL leases (GET_LOCK)', () => {
  it('are exclusive across journals, free again after release and after close', async () => {
    const [a, b] = [mysqlJournal({ connectionString: db!.connectionString }), mysqlJournal({ connectionString: db!.connectionString })];
    try {
      const lease = await a.acquireLease('outbox');
      expect(lease?.held).toBe(true);
      expect(await b.acquireLease('outbox')).toBeUndefined();
      expect(await a.acquireLease('outbox')).toBeUndefined();
      await lease!.release();
      const taken = await b.acquireLease('outbox');
      expect(taken?.held).toBe(true);
      await b.close();
      expect(taken!.held).toBe(false);
      expect(await a.acquireLease('outbox')).toBeDefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('is lost when its session is killed, and the name is free for another journal', async () => {
    const [a, b] = [mysqlJournal({ connectionString: db!.connectionString }), mysqlJournal({ connectionString: db!.connectionString })];
    try {
      const lease = await a.acquireLease('killed');
      // Which session holds it, asked of the server: IS_USED_LOCK names the holder's connection id.
      const [holder] = await db!.admin.query<RowDataPacket[]>('select is_used_lock(?) as id', [leaseLockName(db!.database, 'killed')]);
      expect(holder[0]!.id).not.toBeNull();
      await db!.admin.query(`kill ${Number(holder[0]!.id)}`);
      expect(await lease!.lost).toBeInstanceOf(Error);
      expect(lease!.held).toBe(false);
      expect(await eventualValue(() => b.acquireLease('killed'), 'the lease free for another journal')).toBeDefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('heldLeases asks the server for the lock names in this database: any session holding one counts, names up to 1000 characters fit', async () => {
    const long = 'x'.repeat(1000);
    const [a, elsewhere] = [mysqlJournal({ connectionString: db!.connectionString }), mysqlJournal({ connectionString: await db!.newDatabase('mysql_journal_b') })];
    const raw = await db!.admin.getConnection();
    try {
      const lease = await elsewhere.acquireLease(long);
      expect(lease?.held).toBe(true);
      // The same name in another database is another lock (named locks are server-wide, so hashed with the database).
      expect((await a.heldLeases([long, 'by-hand'])).size).toBe(0);
      expect([...(await elsewhere.heldLeases([long, 'by-hand']))]).toEqual([long]);
      expect(leaseLockName(db!.database, long).length).toBeLessThanOrEqual(64);
      // A session that is no journal's, holding the lease's lock name, holds the lease as far as anyone can tell.
      const [locked] = await raw.query<RowDataPacket[]>('select get_lock(?, 0) as locked', [leaseLockName(db!.database, 'by-hand')]);
      expect(locked[0]!.locked).toBe(1);
      expect([...(await a.heldLeases([long, 'by-hand']))]).toEqual(['by-hand']);
      expect(await a.acquireLease('by-hand')).toBeUndefined();
      await raw.query('select release_all_locks()');
      expect((await a.heldLeases(['by-hand'])).size).toBe(0);
      await a.close();
      await expect(a.heldLeases(['by-hand'])).rejects.toMatchObject({ code: 'ERR_PLUGIN_CLOSED' });
    } finally {
      raw.release();
      await Promise.all([a.close(), elsewhere.close()]);
    }
  });
});
