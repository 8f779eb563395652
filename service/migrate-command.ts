/**
 * `steadfast migrate` (and `npm run migrate`): applies the PostgreSQL or MySQL migrations to the schema
 * (database) the service would use and exits, for deploy pipelines that migrate before the service
 * starts. It reads PG_URL, PG_SCHEMA and MYSQL_URL (and STEADFAST_CONFIG) exactly as the service does
 * (config.ts), so the two can never disagree about the schema; `--connection-string` (postgres:// or
 * mysql://) / `--schema` override them for one run.
 * Exit code 0 on success, 1 when the migration failed, 2 on a usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { loadMigrationConfig, type MigrationConfig, redactUrl } from './config.js';
import { ConfigError } from './errors.js';

export const MIGRATE_USAGE = `steadfast migrate [--connection-string <url>] [--schema <name>]
                                       apply the migrations to PG_URL / PG_SCHEMA or MYSQL_URL (the service's settings; the flags override them)`;

export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: CommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

export async function runMigrateCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, output: CommandOutput = consoleOutput): Promise<number> {
  let values: { 'connection-string'?: string; schema?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { 'connection-string': { type: 'string' }, schema: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    output.err(`${(error as Error).message}\nusage: ${MIGRATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    output.out(`usage: ${MIGRATE_USAGE}`);
    return 0;
  }
  let config: MigrationConfig;
  try {
    config = loadMigrationConfig(env, {
      ...(values['connection-string'] === undefined ? {} : { connectionString: values['connection-string'] }),
      ...(values.schema === undefined ? {} : { schema: values.schema }),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.err(`steadfast migrate: ${error.message}`);
    return 2;
  }
  if (config.mysqlUrl !== undefined) return migrateMysql(config.mysqlUrl, output);
  if (config.pgUrl === undefined) {
    output.err(`steadfast migrate: no database to migrate: set PG_URL or MYSQL_URL (as for the service) or pass --connection-string\nusage: ${MIGRATE_USAGE}`);
    return 2;
  }
  // Loaded only now: `steadfast start` on SQLite never loads pg.
  const { migrate } = await import('../journal/postgres/migrate.js');
  try {
    const result = await migrate({ connectionString: config.pgUrl, schema: config.pgSchema, applicationName: 'steadfast-migrate' });
    const what = result.applied.length === 0 ? 'nothing to apply' : `applied ${result.applied.join(', ')}`;
    output.out(`schema "${result.schema}": ${what}; now at version ${result.version}`);
    return 0;
  } catch (error) {
    output.err(`steadfast migrate: migration of schema "${config.pgSchema}" failed: ${(error as Error).message}`);
    return 1;
  }
}

async function migrateMysql(connectionString: string, output: CommandOutput): Promise<number> {
  // Loaded only now, as pg above: a migration of one database never loads the other driver.
  const { migrate } = await import('../journal/mysql/migrate.js');
  try {
    const result = await migrate({ connectionString });
    const what = result.applied.length === 0 ? 'nothing to apply' : `applied ${result.applied.join(', ')}`;
    output.out(`database "${result.database}": ${what}; now at version ${result.version}`);
    return 0;
  } catch (error) {
    output.err(`steadfast migrate: migration of ${redactUrl(connectionString)} failed: ${(error as Error).message}`);
    return 1;
  }
}
