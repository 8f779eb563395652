import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../src/persistence/spi.js';

// Letters, digits, _ and $, at most 64 characters (MySQL's limit): anything else is refused rather
// than escaped, so a database name never carries SQL and means the same in the mysql client and here.
const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

export function validateDatabaseName(database: unknown): string {
  if (typeof database !== 'string' || !DATABASE_NAME.test(database) || /^[0-9]+$/.test(database)) {
    throw new InvalidOptionError(`the database must be a MySQL identifier (letters, digits, _ and $, not all digits, at most 64 characters), got ${JSON.stringify(database)}`);
  }
  return database;
}

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A GET_LOCK name for a purpose within one database. Named locks are server-wide (not per database)
 * and MySQL refuses names over 64 characters, so the database and the name are hashed: every process
 * computes the same name, and two databases on one server never meet.
 */
export function namedLock(purpose: string, database: string, name = ''): string {
  const hash = createHash('sha1').update(`${database}\0${name}`, 'utf8').digest('hex');
  return `steadfast:${purpose}:${hash}`.slice(0, 64);
}
