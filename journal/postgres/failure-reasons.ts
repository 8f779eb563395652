/**
 * What a PostgreSQL or connection error says about the store, for health reports and API answers
 * (the SPI's `classifyError`), and the write probe that finds a read-only database without writing.
 */
import type { StoreFailureReason } from '../../src/persistence/spi.js';
import { sqlState } from './pool.js';

/**
 * SQLSTATEs by class or exact code. 25006 read_only_sql_transaction: the database, the role or the
 * server (a hot-standby replica) defaults transactions to read-only; 53100 disk_full; class 08
 * connection exceptions, 57P01-57P03 (server shut down or starting), 53300 too many connections and
 * 3D000 (the database is gone) all mean the store cannot be reached; XX001/XX002 data or index
 * corruption.
 */
const BY_STATE: Readonly<Record<string, StoreFailureReason>> = {
  '25006': 'read_only',
  '53100': 'disk_full',
  '53300': 'unreachable',
  '57P01': 'unreachable',
  '57P02': 'unreachable',
  '57P03': 'unreachable',
  '3D000': 'unreachable',
  XX001: 'corrupt',
  XX002: 'corrupt',
};

/** Socket-level failures (Node's `code`) on the way to the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** pg reports a dropped or timed-out connection with a plain Error and one of these messages. */
const CONNECTION_MESSAGE = /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i;

/** The reason behind an error of the PostgreSQL plugins (looking through `cause`s), or undefined. */
export function classifyPostgresError(error: unknown): StoreFailureReason | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const state = sqlState(current);
    if (state !== undefined) {
      const reason = BY_STATE[state] ?? (state.startsWith('08') ? 'unreachable' : undefined);
      if (reason !== undefined) return reason;
      continue;
    }
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'unreachable';
    if (CONNECTION_MESSAGE.test(current.message)) return 'unreachable';
  }
  return undefined;
}

/**
 * An INSERT that inserts nothing: PostgreSQL checks that the transaction may write before it looks
 * at any row, so this fails with 25006 exactly where a real journal write would, and stores nothing.
 */
export function writeProbeSql(quotedSchema: string): string {
  return `insert into ${quotedSchema}.journal (persistence_id) select null::text where false`;
}
