import { applyMigrations, type MigrationResult } from './migrations.js';
import { resolveOptions, type MysqlPluginOptions } from './options.js';

export type MigrateOptions = Omit<MysqlPluginOptions, 'autoMigrate' | 'poolSize'>;

/** Applies pending migrations alone (deploy pipelines; plugins started with autoMigrate: false). */
export function migrate(options: MigrateOptions): Promise<MigrationResult> {
  return applyMigrations(resolveOptions(options, 'migrate'));
}
