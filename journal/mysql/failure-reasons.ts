/**
 * What a MySQL/MariaDB or connection error says about the store, for health reports and API answers
 * (the SPI's `classifyError`), and the write probe that finds a read-only server without writing.
 */
import type { StoreFailureReason } from '../../src/persistence/spi.js';
import { errnoOf } from './pool.js';

/**
 * Server error numbers (the same in MariaDB and MySQL). 1290 (--read-only / super_read_only), 1792 (a
 * read-only transaction), 1836 (InnoDB read-only mode) and 1036 (a read-only table) refuse writes; 1021
 * (disk full) and 1114 (table full: the tablespace cannot grow); 1040 (too many connections), 1049
 * (unknown database), 1053 (shutdown in progress), 1927 (connection killed) and 4031 (MySQL 8: idle
 * session dropped) mean the store cannot be reached; 1034, 1194, 1195, 1712 a damaged table or index.
 */
const BY_ERRNO: ReadonlyMap<number, StoreFailureReason> = new Map([
  [1290, 'read_only'],
  [1792, 'read_only'],
  [1836, 'read_only'],
  [1036, 'read_only'],
  [1021, 'disk_full'],
  [1114, 'disk_full'],
  [1040, 'unreachable'],
  [1049, 'unreachable'],
  [1053, 'unreachable'],
  [1927, 'unreachable'],
  [4031, 'unreachable'],
  [1034, 'corrupt'],
  [1194, 'corrupt'],
  [1195, 'corrupt'],
  [1712, 'corrupt'],
]);

/** Socket-level failures (Node's `code`) and mysql2's own codes for a connection that is gone. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/** mysql2 refuses queries on a connection it already closed with a plain Error. */
const CLOSED_MESSAGE = /connection is in closed state|Connection lost/i;

/** The reason behind an error of the MySQL plugins (looking through `cause`s), or undefined. */
export function classifyMysqlError(error: unknown): StoreFailureReason | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const errno = errnoOf(current);
    const reason = errno === undefined ? undefined : BY_ERRNO.get(errno);
    if (reason !== undefined) return reason;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return 'unreachable';
    if (CLOSED_MESSAGE.test(current.message)) return 'unreachable';
  }
  return undefined;
}

/**
 * An INSERT that inserts nothing: the server checks its read-only settings when the statement starts,
 * so this fails where a real journal write would, and stores nothing.
 */
export function writeProbeSql(quotedDatabase: string): string {
  return `insert into ${quotedDatabase}.journal_sequence (id, last_ordering) select 1, 0 from dual where 1 = 0`;
}
