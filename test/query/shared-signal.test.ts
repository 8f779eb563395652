/**
 * One AbortSignal ending many queries (a request's, a shutdown's): the read journal listens to it once,
 * not once per query, so Node never warns about a listener leak (MaxListenersExceededWarning, past 10
 * listeners), and aborting it still ends every query.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ReadJournal } from '../../src/index.js';
import { jsonEvent } from '../../journal/testkit/fixtures.js';
import { memoryPlugins } from '../persistence/support/harness.js';

const json = (repr: { payload: unknown }) => [repr.payload];

describe('ReadJournal: one AbortSignal for many queries', () => {
  it('adds one abort listener for 50 live queries, warns of no leak, and ends them all when aborted', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { journal } = memoryPlugins();
      const readJournal = new ReadJournal(journal.queries(), json);
      const controller = new AbortController();
      const { signal } = controller;
      const pulls = Array.from({ length: 50 }, (_, i) => {
        const query = i % 2 === 0 ? readJournal.eventsByTag(`t-${i}`, 0, { signal }) : readJournal.eventsByPersistenceId(`p-${i}`, 0, Number.MAX_SAFE_INTEGER, { signal });
        return query[Symbol.asyncIterator]().next();
      });
      await expect.poll(() => getEventListeners(signal, 'abort').length).toBeGreaterThan(0);
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      controller.abort();
      const outcomes = await Promise.allSettled(pulls);
      expect(outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).name : outcome.status))).toEqual(Array(50).fill('AbortError'));
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      // Node emits the warning on the next tick after the 11th listener.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('lets go of the signal when the queries end by themselves, however many shared it', async () => {
    const { journal } = memoryPlugins();
    const readJournal = new ReadJournal(journal.queries(), json);
    const controller = new AbortController();
    const ids = Array.from({ length: 20 }, (_, i) => `ends-${i}`);
    // Live queries up to sequence number 1: each ends once its stream has it.
    const ended = ids.map(async (id) => {
      const seen: number[] = [];
      for await (const envelope of readJournal.eventsByPersistenceId(id, 0, 1, { signal: controller.signal })) seen.push(envelope.sequenceNr);
      return seen;
    });
    await expect.poll(() => getEventListeners(controller.signal, 'abort').length).toBe(1);
    await journal.start();
    await journal.writeMessages(ids.map((id) => ({ persistenceId: id, events: [jsonEvent(id, 1)] })));
    expect(await Promise.all(ended)).toEqual(ids.map(() => [1]));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
