/**
 * A stream's pages are read in index order even when the planner underestimates the stream (here: a
 * table never analyzed, as in the first minute after a schema is created). With a bitmap scan and a
 * top-N sort instead, every page reads every row of the stream from the page's start on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { postgresJournal } from '../../../journal/postgres/index.js';
import { resolveOptions } from '../../../journal/postgres/options.js';
import { openPool } from '../../../journal/postgres/pool.js';
import { readStatements } from '../../../journal/postgres/read-path.js';
import { postgresResource } from '../../support/services.js';

const pgr = await postgresResource('replay_plan');
afterAll(async () => pgr?.cleanup());

interface PlanNode {
  readonly 'Node Type': string;
  readonly Plans?: readonly PlanNode[];
}

function nodeTypes(node: PlanNode): string[] {
  return [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

describe.runIf(pgr)('replay plan on the plugin pool', () => {
  it('reads a page of a large stream by index scan, without a sort, on a table never analyzed', async () => {
    const schema = await pgr!.newSchema('replay_plan');
    const journal = postgresJournal({ connectionString: pgr!.connectionString, schema });
    await journal.start();
    for (let first = 1; first <= 20_000; first += 2000) {
      const events = Array.from({ length: 2000 }, (_, i) => ({
        persistenceId: 'big',
        sequenceNr: first + i,
        writerUuid: 'w',
        timestamp: Date.now(),
        tags: [],
        serializerId: 'json',
        manifest: '',
        payload: JSON.stringify({
          type: 'OrderLineAdded',
          orderId: 'order-0',
          line: first + i,
          sku: `sku-${((first + i) * 7919) % 10_000}`,
          quantity: 1 + (i % 5),
          priceCents: 1299,
          note: 'test',
        }),
      }));
      await journal.writeMessages([{ persistenceId: 'big', events }]);
    }
    await journal.close();
    const statements = readStatements(`"${schema}"`, 'plan');
    const explain = `explain (format json) ${statements.replay.replace('$1', "'big'").replace('$2', '1').replace('$3', '9007199254740991').replace('$4', '5000')}`;

    const handle = openPool(resolveOptions({ connectionString: pgr!.connectionString, schema }, 'test'));
    try {
      // The planner's choice between the two plans is a knife edge on a table without statistics (it
      // picked the bitmap scan and sort at 100 000 rows of ~150 bytes in the recovery bench, the index
      // scan here): the plugin's sessions do not offer it the bitmap scan at all.
      expect((await handle.pool.query<{ enable_bitmapscan: string }>('show enable_bitmapscan')).rows[0]!.enable_bitmapscan).toBe('off');
      const { rows } = await handle.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(explain);
      const types = nodeTypes(rows[0]!['QUERY PLAN'][0].Plan);
      expect(types).toContain('Index Scan');
      expect(types).not.toContain('Sort');
      expect(types).not.toContain('Bitmap Heap Scan');
    } finally {
      await handle.release();
    }
  });
});
