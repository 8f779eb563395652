import { SteadfastError } from '../actor/errors.js';

/** `readJournalOf(system)` on a system whose journal offers no queries. */
export class QueriesNotSupportedError extends SteadfastError {
  constructor(journal: string) {
    super('ERR_QUERIES_NOT_SUPPORTED', `the journal ${journal} offers no queries (the in-memory, SQLite and PostgreSQL journals do)`);
  }
}

/**
 * A query ended by its `AbortSignal`. Named `AbortError`, like the errors of Node's own iterators, so
 * `error.name === 'AbortError'` checks keep working; `cause` is the signal's reason.
 */
export class QueryAbortedError extends SteadfastError {
  override readonly name = 'AbortError';
  constructor(reason: unknown) {
    super('ERR_QUERY_ABORTED', 'the query was aborted', { cause: reason });
  }
}

/** A query waited too long for a statement of the read journal, or too many were waiting already. */
export class QueryThrottledError extends SteadfastError {
  constructor(message: string) {
    super('ERR_QUERY_THROTTLED', message);
  }
}
