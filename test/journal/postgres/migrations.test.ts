import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS, migrate, postgresJournal, SchemaBehindError } from '../../../journal/postgres/index.js';
import { postgresResource } from '../../support/services.js';
import { write } from './helpers.js';

const pg = await postgresResource('pg_migrations');
afterAll(() => pg?.cleanup());

async function versions(schema: string): Promise<number[]> {
  const result = await pg!.admin.query<{ version: number }>(`select version from "${schema}".schema_migrations order by version`);
  return result.rows.map((row) => row.version);
}

describe.runIf(pg)('PostgreSQL migrations', () => {
  it('are numbered 1, 2, ... without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it('apply once, and a second run applies nothing', async () => {
    const schema = await pg!.newSchema('mig_idem');
    const first = await migrate({ connectionString: pg!.connectionString, schema });
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const second = await migrate({ connectionString: pg!.connectionString, schema });
    expect(second.applied).toEqual([]);
    expect(await versions(schema)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('create the schema itself when it does not exist yet', async () => {
    const schema = `${pg!.schema}_fresh`;
    try {
      await migrate({ connectionString: pg!.connectionString, schema });
      expect(await versions(schema)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await pg!.admin.query(`drop schema if exists "${schema}" cascade`);
    }
  });

  it('are safe when many processes start at once: each migration is applied exactly once', async () => {
    const schema = await pg!.newSchema('mig_conc');
    const results = await Promise.all(Array.from({ length: 6 }, () => migrate({ connectionString: pg!.connectionString, schema })));
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await versions(schema)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('with autoMigrate: false, start() fails clearly on a schema that is behind, and works once migrated', async () => {
    const schema = await pg!.newSchema('mig_manual');
    const journal = postgresJournal({ connectionString: pg!.connectionString, schema, autoMigrate: false });
    try {
      const failure = await journal.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(SchemaBehindError);
      expect((failure as SchemaBehindError).code).toBe('ERR_SCHEMA_BEHIND');
      expect((failure as Error).message).toContain(`schema "${schema}" is at migration version 0`);
      expect(await pg!.admin.query(`select 1 from pg_tables where schemaname = $1`, [schema]).then((r) => r.rowCount)).toBe(0);

      await pg!.admin.query(`create table "${schema}".schema_migrations (version int primary key, name text, applied_at timestamptz)`);
      await pg!.admin.query(`insert into "${schema}".schema_migrations values (1, 'journal', now())`);
      const behind = await journal.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((behind as SchemaBehindError).currentVersion).toBe(1);
      await pg!.admin.query(`drop table "${schema}".schema_migrations`);

      await migrate({ connectionString: pg!.connectionString, schema });
      await journal.start();
      expect((await journal.writeMessages([write('p', 1)]))[0]!.status).toBe('ok');
    } finally {
      await journal.close();
    }
  });
});
