/**
 * readJournalOf(system) over the in-memory journal, as a user meets it: events persisted by actors come
 * back decoded and through the event adapters; steadfast's internal streams stay out of the queries;
 * a journal without queries is refused by name; a query reads one page per pull (back-pressure), and
 * breaking out of a live query or aborting it frees its subscription.
 */
import { describe, expect, it } from 'vitest';
import {
  type ActorRef,
  type AsyncWriteJournal,
  type EventAdapter,
  type JournalQueries,
  type OrderedRepr,
  Outbox,
  PersistentActor,
  QueriesNotSupportedError,
  ReadJournal,
  readJournalOf,
  Tagged,
} from '../../src/index.js';
import { TestJournal } from '../../journal/testkit/index.js';
import { memoryPlugins, testSystem } from '../persistence/support/harness.js';

class Ledger extends PersistentActor<{ amount: number; tags?: string[] }, { amount: number } | Tagged<{ amount: number }>> {
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: { amount: number; tags?: string[] }): void {
    const event = { amount: command.amount };
    void this.persist(command.tags ? new Tagged(event, command.tags) : event, () => this.sender.tell(this.lastSequenceNr));
  }
  onRecover(): void {}
}

async function post(ref: ActorRef<{ amount: number; tags?: string[] }>, amount: number, tags?: string[]): Promise<void> {
  await ref.ask(tags ? { amount, tags } : { amount });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const element of iterable) out.push(element);
  return out;
}

/** Counts what the ReadJournal asks of the journal's queries. */
function counted(inner: JournalQueries, overrides: Partial<Pick<JournalQueries, 'pollIntervalMs' | 'maxConcurrentStatements'>> = {}) {
  const counts = { pages: 0, subscriptions: 0, byPersistenceId: 0, allEvents: 0, highestSequenceNr: 0 };
  const queries: JournalQueries = {
    pollIntervalMs: overrides.pollIntervalMs ?? inner.pollIntervalMs,
    maxConcurrentStatements: overrides.maxConcurrentStatements,
    eventsByPersistenceId: (...args) => {
      counts.pages++;
      counts.byPersistenceId++;
      return inner.eventsByPersistenceId(...args);
    },
    eventsByTag: (...args) => {
      counts.pages++;
      return inner.eventsByTag(...args);
    },
    allEvents: (...args) => {
      counts.pages++;
      counts.allEvents++;
      return inner.allEvents(...args);
    },
    persistenceIds: (...args) => inner.persistenceIds(...args),
    highestOffset: () => inner.highestOffset(),
    highestSequenceNr: (persistenceId) => {
      counts.highestSequenceNr++;
      return inner.highestSequenceNr(persistenceId);
    },
    onEventsWritten: (listener) => {
      counts.subscriptions++;
      const unsubscribe = inner.onEventsWritten(listener);
      return () => {
        counts.subscriptions--;
        unsubscribe();
      };
    },
  };
  return { queries, counts };
}

const json = (repr: OrderedRepr): readonly unknown[] => [JSON.parse(repr.payload as string) as unknown];

describe('readJournalOf', () => {
  it('yields what actors persisted, decoded and by tag, with offsets to resume from', async () => {
    const { system } = testSystem();
    const ledger = system.actorOf(() => new Ledger('ledger-1'));
    await post(ledger, 5, ['money']);
    await post(ledger, 7);
    await post(ledger, 9, ['money']);
    const queries = readJournalOf(system);
    expect(readJournalOf(system)).toBe(queries);
    const byId = await collect(queries.currentEventsByPersistenceId('ledger-1'));
    expect(byId.map((envelope) => [envelope.sequenceNr, envelope.event])).toEqual([
      [1, { amount: 5 }],
      [2, { amount: 7 }],
      [3, { amount: 9 }],
    ]);
    const tagged = await collect(queries.currentEventsByTag('money'));
    expect(tagged.map((envelope) => envelope.event)).toEqual([{ amount: 5 }, { amount: 9 }]);
    expect(tagged[0]!.tags).toEqual(['money']);
    expect((await collect(queries.currentEventsByTag('money', tagged[0]!.offset))).map((envelope) => envelope.event)).toEqual([{ amount: 9 }]);
  });

  it('passes events through the system’s event adapters', async () => {
    const upcaster: EventAdapter = { fromJournal: (event) => ({ ...(event as object), currency: 'EUR' }) };
    const { system } = testSystem({ persistence: { eventAdapters: [upcaster] } });
    const ledger = system.actorOf(() => new Ledger('ledger-2'));
    await post(ledger, 3);
    const [envelope] = await collect(readJournalOf(system).currentAllEvents());
    expect(envelope!.event).toEqual({ amount: 3, currency: 'EUR' });
  });

  it('leaves the delivery actors’ identity streams out of allEvents and persistenceIds', async () => {
    const { system } = testSystem();
    const outbox = Outbox.start(system);
    await outbox.stats();
    const ledger = system.actorOf(() => new Ledger('ledger-3'));
    await post(ledger, 1);
    const queries = readJournalOf(system);
    const ids = await collect(queries.currentPersistenceIds());
    expect(ids).toContain('ledger-3');
    expect(ids.some((id) => id.startsWith('@steadfast/'))).toBe(false);
    expect((await collect(queries.currentAllEvents())).some((envelope) => envelope.persistenceId.startsWith('@steadfast/'))).toBe(false);
  });

  it('refuses a journal without queries, naming it; a TestJournal offers the queries of the journal it wraps', async () => {
    const inner = memoryPlugins().journal;
    class LegacyJournal implements AsyncWriteJournal {
      writeMessages = inner.writeMessages.bind(inner);
      replayMessages = inner.replayMessages.bind(inner);
      readHighestSequenceNr = inner.readHighestSequenceNr.bind(inner);
      deleteMessagesTo = inner.deleteMessagesTo.bind(inner);
      close = inner.close.bind(inner);
    }
    const { system } = testSystem({ journal: new LegacyJournal() });
    expect(() => readJournalOf(system)).toThrow(QueriesNotSupportedError);
    expect(() => readJournalOf(system)).toThrow(/LegacyJournal/);

    const { system: tested } = testSystem({ journal: new TestJournal(inner) });
    await post(
      tested.actorOf(() => new Ledger('through-test-journal')),
      4,
    );
    expect((await collect(readJournalOf(tested).currentEventsByPersistenceId('through-test-journal'))).map((envelope) => envelope.event)).toEqual([{ amount: 4 }]);
  });
});

describe('ReadJournal', () => {
  it('reads one page per pull of a page’s end: a consumer that stops pulling stops the reading', async () => {
    const { journal } = memoryPlugins();
    const { system } = testSystem({ journal });
    const ledger = system.actorOf(() => new Ledger('paged'));
    for (let i = 1; i <= 30; i++) await post(ledger, i);
    const { queries, counts } = counted(journal.queries());
    const iterator = new ReadJournal(queries, json, { pageSize: 10 }).currentEventsByPersistenceId('paged')[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await iterator.next();
    expect(counts.pages).toBe(1);
    await iterator.next();
    expect(counts.pages).toBe(2);
    await iterator.return?.();
  });

  it('reads a short stream with one statement; a longer one is bounded by its highest sequence number after the first page', async () => {
    const { journal } = memoryPlugins();
    const { system } = testSystem({ journal });
    const short = system.actorOf(() => new Ledger('short'));
    for (let i = 1; i <= 5; i++) await post(short, i);
    const long = system.actorOf(() => new Ledger('long'));
    for (let i = 1; i <= 25; i++) await post(long, i);
    const { queries, counts } = counted(journal.queries());
    const readJournal = new ReadJournal(queries, json, { pageSize: 10 });
    expect((await collect(readJournal.currentEventsByPersistenceId('short'))).map((envelope) => envelope.sequenceNr)).toEqual([1, 2, 3, 4, 5]);
    expect(counts).toMatchObject({ byPersistenceId: 1, highestSequenceNr: 0 });
    // Events written while the query runs, after its first page, are not part of it.
    const seen: number[] = [];
    for await (const envelope of readJournal.currentEventsByPersistenceId('long')) {
      seen.push(envelope.sequenceNr);
      if (envelope.sequenceNr === 1) for (let i = 26; i <= 30; i++) await post(long, i);
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(counts).toMatchObject({ byPersistenceId: 4, highestSequenceNr: 1 });
  });

  it('frees a live query’s subscription when the loop is left, and at once when it is aborted', async () => {
    const { journal } = memoryPlugins();
    const { system } = testSystem({ journal });
    const ledger = system.actorOf(() => new Ledger('live'));
    await post(ledger, 1);
    const { queries, counts } = counted(journal.queries());
    const readJournal = new ReadJournal(queries, json);
    for await (const envelope of readJournal.eventsByPersistenceId('live')) {
      expect(counts.subscriptions).toBe(1);
      if (envelope.sequenceNr === 1) break;
    }
    // The shared tailer lets go of the journal's signal once its last live query has gone.
    await expect.poll(() => counts.subscriptions).toBe(0);

    const controller = new AbortController();
    const iterator = readJournal.eventsByTag('none', 0, { signal: controller.signal })[Symbol.asyncIterator]();
    const pending = iterator.next();
    await expect.poll(() => counts.subscriptions).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ERR_QUERY_ABORTED' });
    await expect.poll(() => counts.subscriptions).toBe(0);
  });

  it('refuses bad ranges and offsets when first pulled', async () => {
    const { journal } = memoryPlugins();
    const readJournal = new ReadJournal(journal.queries(), json);
    await expect(collect(readJournal.currentEventsByTag('t', -1))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(collect(readJournal.currentEventsByPersistenceId('p', 1.5))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('shares one tailer among live queries: idle queries cost no statements, an event wakes only the queries it concerns', async () => {
    const { journal } = memoryPlugins();
    const { system } = testSystem({ journal });
    const { queries, counts } = counted(journal.queries(), { pollIntervalMs: 10 });
    const readJournal = new ReadJournal(queries, json);
    const ids = Array.from({ length: 200 }, (_, i) => `tail-${i}`);
    const ledgers = ids.map((id) => system.actorOf(() => new Ledger(id)));
    const seen = new Map<string, number>();
    const controller = new AbortController();
    const following = ids.map(async (id) => {
      try {
        for await (const envelope of readJournal.eventsByPersistenceId(id, 0, Number.MAX_SAFE_INTEGER, { signal: controller.signal })) seen.set(id, envelope.sequenceNr);
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    });
    // Every query caught up (one read each, and one more for the tailer's start) and is waiting.
    await expect.poll(() => counts.allEvents).toBeGreaterThan(2);
    const settled = counts.byPersistenceId;
    expect(settled).toBeLessThanOrEqual(2 * ids.length);
    // Ten more polls of the tailer: no query ran a statement of its own.
    const polls = counts.allEvents;
    await expect.poll(() => counts.allEvents).toBeGreaterThanOrEqual(polls + 10);
    expect(counts.byPersistenceId).toBe(settled);
    for (const index of [3, 50, 199]) await post(ledgers[index]!, 1);
    await expect.poll(() => [seen.get('tail-3'), seen.get('tail-50'), seen.get('tail-199')]).toEqual([1, 1, 1]);
    // One read per woken query (a query may read once more when two wake-ups meet), none for the others.
    expect(counts.byPersistenceId - settled).toBeGreaterThanOrEqual(3);
    expect(counts.byPersistenceId - settled).toBeLessThanOrEqual(6);
    controller.abort();
    await Promise.all(following);
  });

  it('starts many live queries at once with one read each: the tailer’s start wakes only those that read before it knew its position', async () => {
    const { journal } = memoryPlugins();
    const { system } = testSystem({ journal });
    const ids = Array.from({ length: 1000 }, (_, i) => `start-${i}`);
    await Promise.all(
      ids.map((id) =>
        post(
          system.actorOf(() => new Ledger(id)),
          1,
        ),
      ),
    );
    const { queries, counts } = counted(journal.queries(), { pollIntervalMs: 10 });
    const readJournal = new ReadJournal(queries, json, { maxQueuedQueries: 2000 });
    const controller = new AbortController();
    let caughtUp = 0;
    const following = ids.map(async (id) => {
      try {
        for await (const _ of readJournal.eventsByPersistenceId(id, 0, Number.MAX_SAFE_INTEGER, { signal: controller.signal })) caughtUp++;
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    });
    await expect.poll(() => caughtUp).toBe(ids.length);
    // Ten polls of the tailer later nothing is left to read; only the few reads that ran beside the tailer's first statement ran twice.
    const polls = counts.allEvents;
    await expect.poll(() => counts.allEvents).toBeGreaterThanOrEqual(polls + 10);
    expect(readJournal.queuedQueries).toBe(0);
    expect(counts.byPersistenceId).toBeGreaterThanOrEqual(ids.length);
    expect(counts.byPersistenceId).toBeLessThanOrEqual(ids.length + 8);
    controller.abort();
    await Promise.all(following);
  });

  it('throttles statements: past maxQueuedQueries a query fails at once, a queued one after queryThrottleTimeoutMs', async () => {
    const { journal } = memoryPlugins();
    const inner = journal.queries();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stuck: JournalQueries = {
      ...inner,
      pollIntervalMs: inner.pollIntervalMs,
      maxConcurrentStatements: 1,
      highestSequenceNr: inner.highestSequenceNr.bind(inner),
      eventsByPersistenceId: async (...args) => {
        await gate;
        return inner.eventsByPersistenceId(...args);
      },
      eventsByTag: inner.eventsByTag.bind(inner),
      allEvents: inner.allEvents.bind(inner),
      persistenceIds: inner.persistenceIds.bind(inner),
      highestOffset: inner.highestOffset.bind(inner),
      onEventsWritten: inner.onEventsWritten.bind(inner),
    };
    const readJournal = new ReadJournal(stuck, json, { maxQueuedQueries: 2, queryThrottleTimeoutMs: 200 });
    const started = performance.now();
    const results = Array.from({ length: 4 }, (_, i) =>
      collect(readJournal.currentEventsByPersistenceId(`p-${i}`)).then(
        () => 'done',
        (error: Error & { code?: string }) => ({ code: error.code, after: performance.now() - started }),
      ),
    );
    // One runs (held), two wait, the fourth is refused at once.
    const fourth = (await results[3]) as { code: string; after: number };
    expect(fourth.code).toBe('ERR_QUERY_THROTTLED');
    expect(readJournal.queuedQueries).toBe(2);
    const [second, third] = (await Promise.all([results[1], results[2]])) as { code: string; after: number }[];
    expect([second!.code, third!.code]).toEqual(['ERR_QUERY_THROTTLED', 'ERR_QUERY_THROTTLED']);
    expect(second!.after).toBeGreaterThanOrEqual(190);
    release();
    expect(await results[0]).toBe('done');
  });
});
