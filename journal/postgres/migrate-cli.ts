/**
 * `migrate --connection-string <url> --schema <name>`: applies steadfast's PostgreSQL migrations and
 * exits, for deploy pipelines that migrate before the application starts (with autoMigrate: false).
 * The connection string may come from PG_URL instead. Exit code 0 on success, 1 on failure, 2 on usage.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { migrate } from './migrate.js';

const USAGE = 'usage: migrate [--connection-string <url>] [--schema <name>]   (PG_URL is used when no connection string is given)';

export async function runMigrateCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: { 'connection-string'?: string; schema?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'connection-string': { type: 'string' },
        schema: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const connectionString = values['connection-string'] ?? env.PG_URL;
  if (!connectionString) {
    console.error(`no connection string: pass --connection-string or set PG_URL\n${USAGE}`);
    return 2;
  }
  try {
    const result = await migrate({ connectionString, schema: values.schema, applicationName: 'steadfast-migrate' });
    const what = result.applied.length === 0 ? 'nothing to apply' : `applied ${result.applied.join(', ')}`;
    console.log(`schema "${result.schema}": ${what}; now at version ${result.version}`);
    return 0;
  } catch (error) {
    console.error(`migration failed: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runMigrateCli(process.argv.slice(2));
}
