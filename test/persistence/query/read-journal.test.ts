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
} from '../../../src/index.js';
import { TestJournal } from '../../../journal/testkit/index.js';
import { memoryPlugins, testSystem } from '../support/harness.js';

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
function counted(inner: JournalQueries) {
  const counts = { pages: 0, subscriptions: 0 };
  const queries: JournalQueries = {
    pollIntervalMs: inner.pollIntervalMs,
    eventsByPersistenceId: (...args) => {
      counts.pages++;
      return inner.eventsByPersistenceId(...args);
    },
    eventsByTag: (...args) => {
      counts.pages++;
      return inner.eventsByTag(...args);
    },
    allEvents: (...args) => {
      counts.pages++;
      return inner.allEvents(...args);
    },
    persistenceIds: (...args) => inner.persistenceIds(...args),
    highestOffset: () => inner.highestOffset(),
    highestSequenceNr: (persistenceId) => inner.highestSequenceNr(persistenceId),
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
    expect(counts.subscriptions).toBe(0);

    const controller = new AbortController();
    const iterator = readJournal.eventsByTag('none', 0, { signal: controller.signal })[Symbol.asyncIterator]();
    const pending = iterator.next();
    await expect.poll(() => counts.subscriptions).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ERR_QUERY_ABORTED' });
    expect(counts.subscriptions).toBe(0);
  });

  it('refuses bad ranges and offsets when first pulled', async () => {
    const { journal } = memoryPlugins();
    const readJournal = new ReadJournal(journal.queries(), json);
    await expect(collect(readJournal.currentEventsByTag('t', -1))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(collect(readJournal.currentEventsByPersistenceId('p', 1.5))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
