/**
 * `mysqlProjection` (DESIGN.md, "Projections"), the MySQL twin of `postgresProjection`: the handler gets
 * a connection inside a transaction, and the offset is stored in that same transaction, so the read
 * model is updated exactly once — a crash before the commit leaves neither the rows nor the offset.
 * The read model's tables must be InnoDB (MyISAM ignores transactions).
 */
import type { PoolConnection } from 'mysql2/promise';
import { InvalidOptionError } from '../../src/persistence/spi.js';
import { type ActorSystem, type EventEnvelope, type ProjectionBaseOptions, type ProjectionHandle, startAtomicProjection } from '../../src/query/spi.js';
import { MysqlJournal } from './journal.js';
import { inTransaction } from './pool.js';

export type MysqlProjectionOptions<Event = unknown> = ProjectionBaseOptions &
  (
    | { readonly handler: (envelope: EventEnvelope<Event>, connection: PoolConnection) => Promise<void>; readonly handleBatch?: never }
    | {
        readonly handleBatch: (envelopes: readonly EventEnvelope<Event>[], connection: PoolConnection) => Promise<void>;
        /** Most events per transaction (those already read). Default 100. */
        readonly batchSize?: number;
        readonly handler?: never;
      }
  );

export function mysqlProjection<Event = unknown>(system: ActorSystem, options: MysqlProjectionOptions<Event>): ProjectionHandle {
  const { handler, handleBatch, ...base } = options;
  if (typeof handler !== 'function' && typeof handleBatch !== 'function') {
    throw new InvalidOptionError('mysqlProjection needs a handler(envelope, connection) or a handleBatch(envelopes, connection)');
  }
  const batchSize = typeof handleBatch === 'function' ? (options.batchSize ?? 100) : 1;
  return startAtomicProjection(system, { ...base, batchSize }, (journal) => {
    if (!(journal instanceof MysqlJournal)) {
      throw new InvalidOptionError(`mysqlProjection needs the system's journal to be a mysqlJournal (it is ${journal.constructor.name}); use startProjection otherwise`);
    }
    const store = journal.offsetStore();
    return (batch, offset) =>
      inTransaction(journal.pool, async (connection) => {
        if (typeof handleBatch === 'function') await handleBatch(batch as readonly EventEnvelope<Event>[], connection);
        else for (const envelope of batch) await handler!(envelope as EventEnvelope<Event>, connection);
        await store.saveOffsetIn(connection, options.name, offset);
      });
  });
}
