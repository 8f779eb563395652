#!/usr/bin/env node
/**
 * The `steadfast` command: `steadfast start` runs the service; `steadfast migrate` applies the
 * PostgreSQL migrations and exits (PG_URL / PG_SCHEMA or --connection-string / --schema).
 */
const USAGE = `usage:
  steadfast start                      run the service (configured by environment variables, see README)
  steadfast migrate [--connection-string <url>] [--schema <name>]
                                       apply the PostgreSQL migrations (PG_URL and PG_SCHEMA are the defaults)
  steadfast help`;

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      if (rest.length > 0) {
        process.stderr.write(`steadfast start takes no arguments (configure it with environment variables), got ${rest.join(' ')}\n`);
        process.exit(2);
      }
      const { runService } = await import('./run.js');
      await runService();
      return;
    }
    case 'migrate': {
      const { runMigrateCli } = await import('../journal/postgres/migrate-cli.js');
      const args = [...rest];
      const schema = process.env.PG_SCHEMA;
      if (schema && !args.some((arg) => arg === '--schema' || arg.startsWith('--schema='))) args.push('--schema', schema);
      process.exitCode = await runMigrateCli(args);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`${command === undefined ? 'no command given' : `unknown command "${command}"`}\n${USAGE}\n`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
