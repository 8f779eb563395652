import { InvalidOptionError } from '../../src/persistence/spi.js';

// Unquoted-identifier shape, at most NAMEDATALEN - 1 bytes: anything else is refused rather than
// escaped, so a schema name can never carry SQL and always means the same in psql and in code.
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function validateSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new InvalidOptionError(
      `schema must be a PostgreSQL identifier (letters, digits, underscores, not starting with a digit, at most 63 characters), got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** Double-quoted so that mixed case is kept as written (validated names never contain quotes). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A signed 64-bit advisory-lock key derived from a purpose and a schema (FNV-1a), as a decimal string for
 * an int8 parameter. Every process computes the same key, so schema-wide locks work across machines.
 */
export function advisoryLockKey(purpose: string, schema: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`steadfast:${purpose}:${schema}`, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, hash).toString();
}
