/**
 * The sender identity kept by the real journals: it survives a restart on SQLite and on PostgreSQL,
 * and two processes that create it at the same moment on one PostgreSQL schema end up with one
 * identity (the journal refuses the second write of the record; the loser reads the winner's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ActorSystem, inMemorySnapshotStore, type AsyncWriteJournal } from '../../src/index.js';
import { SenderIdentities } from '../../delivery/sender-identity.js';
import { sqliteJournal } from '../../journal/sqlite/index.js';
import { postgresJournal } from '../../journal/postgres/index.js';
import { postgresResource } from '../support/services.js';

const silent = pino({ level: 'silent' });
const pg = await postgresResource('sender identity');

async function identityOn(journal: AsyncWriteJournal, persistenceId = 'outbox'): Promise<string> {
  const system = ActorSystem.create('identity', { journal, snapshotStore: inMemorySnapshotStore(), logger: silent });
  try {
    return (await SenderIdentities.get(system).resolve(persistenceId, undefined)).currentSenderId;
  } finally {
    await system.terminate();
  }
}

describe('sender identity in SQLite', () => {
  const directory = mkdtempSync(join(tmpdir(), 'steadfast-identity-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('is created once and read back after a restart; another file is another store', async () => {
    const path = join(directory, 'a.db');
    const first = await identityOn(sqliteJournal({ path }));
    expect(first).toMatch(/^outbox@[\w-]{16}$/);
    expect(await identityOn(sqliteJournal({ path }))).toBe(first);
    expect(await identityOn(sqliteJournal({ path: join(directory, 'b.db') }))).not.toBe(first);
  });
});

describe.runIf(pg)('sender identity in PostgreSQL', () => {
  afterAll(() => pg?.cleanup());

  it('is read back after a restart, per persistenceId, and one identity wins when two processes create it at once', async () => {
    const schema = await pg!.newSchema('identity');
    const journal = () => postgresJournal({ connectionString: pg!.connectionString, schema });
    const raced = await Promise.all(Array.from({ length: 4 }, () => identityOn(journal())));
    expect(raced).toEqual([raced[0], raced[0], raced[0], raced[0]]);
    expect(await identityOn(journal())).toBe(raced[0]);
    const other = await identityOn(journal(), 'another-outbox');
    expect(other).toMatch(/^another-outbox@[\w-]{16}$/);
    // One record for each, never a second one written by a racer.
    const { rows } = await pg!.admin.query<{ count: string }>(`select count(*) from "${schema}".journal where persistence_id like '@steadfast/sender-identity/%'`);
    expect(Number(rows[0]!.count)).toBe(2);
  });
});
