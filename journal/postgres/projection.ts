/**
 * `postgresProjection` (DESIGN.md, "Projections"): the handler gets the transaction, and the offset is
 * stored in that same transaction, so the read model is updated exactly once — a crash before the
 * commit leaves neither the rows nor the offset, and the batch is handled again; after the commit both
 * are there and it is not.
 */
import type pg from 'pg';
import { InvalidOptionError } from '../../src/persistence/spi.js';
import { type ActorSystem, type EventEnvelope, type ProjectionBaseOptions, type ProjectionHandle, startAtomicProjection } from '../../src/query/spi.js';
import { PostgresJournal } from './journal.js';

export type PostgresProjectionOptions<Event = unknown> = ProjectionBaseOptions &
  (
    | { readonly handler: (envelope: EventEnvelope<Event>, client: pg.PoolClient) => Promise<void>; readonly handleBatch?: never }
    | {
        readonly handleBatch: (envelopes: readonly EventEnvelope<Event>[], client: pg.PoolClient) => Promise<void>;
        /** Most events per transaction (those already read). Default 100. */
        readonly batchSize?: number;
        readonly handler?: never;
      }
  );

export function postgresProjection<Event = unknown>(system: ActorSystem, options: PostgresProjectionOptions<Event>): ProjectionHandle {
  const { handler, handleBatch, ...base } = options;
  if (typeof handler !== 'function' && typeof handleBatch !== 'function') {
    throw new InvalidOptionError('postgresProjection needs a handler(envelope, client) or a handleBatch(envelopes, client)');
  }
  const batchSize = typeof handleBatch === 'function' ? (options.batchSize ?? 100) : 1;
  return startAtomicProjection(system, { ...base, batchSize }, (journal) => {
    if (!(journal instanceof PostgresJournal)) {
      throw new InvalidOptionError(`postgresProjection needs the system's journal to be a postgresJournal (it is ${journal.constructor.name}); use startProjection otherwise`);
    }
    const store = journal.offsetStore();
    /**
     * The connection of the next batch, its transaction already begun: when the next batch is read by
     * the time a batch commits, its `begin` goes with that commit (one round trip per batch fewer). A
     * transaction that only began holds no snapshot and no transaction id, so it holds back neither
     * vacuum nor the queries' commit horizon; it is rolled back when the run ends.
     */
    let held: pg.PoolClient | undefined;
    const handle = async (batch: readonly EventEnvelope[], offset: number, following: () => boolean): Promise<void> => {
      let client = held;
      held = undefined;
      let broken = false;
      let keep = false;
      try {
        if (client === undefined) {
          client = await journal.pool.connect();
          await client.query('begin');
        }
        if (typeof handleBatch === 'function') await handleBatch(batch as readonly EventEnvelope<Event>[], client);
        else for (const envelope of batch) await handler!(envelope as EventEnvelope<Event>, client);
        keep = following();
        await store.commitWithOffset(client, options.name, offset, keep);
      } catch (error) {
        keep = false;
        await client?.query('rollback').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        if (keep) held = client;
        else client?.release(broken);
      }
    };
    const end = async (): Promise<void> => {
      const client = held;
      held = undefined;
      if (client === undefined) return;
      let broken = false;
      await client.query('rollback').catch(() => {
        broken = true;
      });
      client.release(broken);
    };
    return { handle, end };
  });
}
