#!/usr/bin/env node
/**
 * The `steadfast` command: `steadfast start` runs the service; `steadfast migrate` applies the
 * PostgreSQL migrations with the service's own settings and exits (migrate-command.ts);
 * `steadfast --version` prints the package version.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATE_USAGE } from './migrate-command.js';

const USAGE = `usage:
  steadfast start                      run the service (configured by environment variables, see README)
  steadfast ${MIGRATE_USAGE}
  steadfast --version                  print the version
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
      const { runMigrateCommand } = await import('./migrate-command.js');
      process.exitCode = await runMigrateCommand(rest);
      return;
    }
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return;
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

/** The version in steadfast's package.json: two levels up when built (dist/service/), one from the sources. */
function packageVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 4; level++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'steadfast' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // not here; one level up
    }
    directory = dirname(directory);
  }
  throw new Error('steadfast: cannot find its package.json to read the version');
}

await main(process.argv.slice(2));
