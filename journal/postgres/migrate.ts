import { applyMigrations, type MigrationResult } from './migrations.js';
import { resolveOptions, type PostgresPluginOptions } from './options.js';
import { openPool } from './pool.js';

export type MigrateOptions = Omit<PostgresPluginOptions, 'autoMigrate'>;

/** Applies pending migrations alone (deploy pipelines; plugins started with autoMigrate: false). */
export async function migrate(options: MigrateOptions): Promise<MigrationResult> {
  const resolved = resolveOptions({ ...options, poolSize: options.pool ? undefined : (options.poolSize ?? 1) }, 'migrate');
  const handle = openPool(resolved);
  try {
    return await applyMigrations(handle.pool, resolved.schema, resolved.logger);
  } finally {
    await handle.release();
  }
}
