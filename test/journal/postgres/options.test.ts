import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { InvalidOptionError } from '../../../src/actor/errors.js';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { advisoryLockKey, validateSchemaName } from '../../../journal/postgres/sql-names.js';

const url = 'postgres://postgres@127.0.0.1:5432/test';

function refused(make: () => unknown, mention: string): void {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionError);
  expect((caught as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
  expect((caught as Error).message).toContain(mention);
}

describe('postgres plugin options (validated before any connection is made)', () => {
  it('requires a connection string or a pool', () => {
    refused(() => postgresJournal({}), 'connectionString');
    refused(() => postgresJournal({ connectionString: '  ' }), 'connectionString');
  });

  it('refuses schema names that are not plain identifiers', () => {
    for (const schema of ['', '1abc', 'a-b', 'x"; drop table y; --', 'a.b', 'x'.repeat(64), 'sp ace']) {
      refused(() => postgresJournal({ connectionString: url, schema }), 'schema');
    }
    expect(validateSchemaName('Mixed_Case_1')).toBe('Mixed_Case_1');
  });

  it('names the option at fault for numbers, booleans, logger and application name', () => {
    refused(() => postgresJournal({ connectionString: url, poolSize: 0 }), 'poolSize');
    refused(() => postgresJournal({ connectionString: url, poolSize: 1.5 }), 'poolSize');
    refused(() => postgresJournal({ connectionString: url, statementTimeoutMs: -1 }), 'statementTimeoutMs');
    refused(() => postgresJournal({ connectionString: url, autoMigrate: 'yes' as unknown as boolean }), 'autoMigrate');
    refused(() => postgresJournal({ connectionString: url, ssl: 'on' as unknown as boolean }), 'ssl');
    refused(() => postgresJournal({ connectionString: url, logger: {} as never }), 'logger');
    refused(() => postgresJournal({ connectionString: url, applicationName: 'x'.repeat(64) }), 'applicationName');
    refused(() => postgresSnapshotStore({ connectionString: url, ...({ shcema: 'typo' } as object) }), 'shcema');
  });

  it('refuses pool settings next to a shared pool (they could not apply to it)', () => {
    const pool = new pg.Pool({ connectionString: url });
    try {
      refused(() => postgresJournal({ pool, poolSize: 3 }), 'poolSize');
      refused(() => postgresJournal({ pool, connectionString: url }), 'connectionString');
      expect(postgresJournal({ pool, schema: 'x' }).pool).toBe(pool);
    } finally {
      void pool.end();
    }
  });

  it('derives stable, schema-specific lock keys', () => {
    expect(advisoryLockKey('write', 'a')).toBe(advisoryLockKey('write', 'a'));
    expect(advisoryLockKey('write', 'a')).not.toBe(advisoryLockKey('write', 'b'));
    expect(advisoryLockKey('write', 'a')).not.toBe(advisoryLockKey('migrate', 'a'));
    expect(BigInt(advisoryLockKey('write', 'a'))).toBeGreaterThanOrEqual(-(2n ** 63n));
  });
});
