/**
 * The query TCK (Akka.NET's Query specs: current and live events by persistenceId, by tag, all events,
 * persistence ids): every journal that offers queries must pass it. Events are written through the
 * journal SPI and read through a `ReadJournal` over the plugin's `queries()`, with small pages so
 * that paging is exercised. Each test uses ids and tags of its own, so the store may be shared.
 *
 *   readJournalSpec('sqlite', () => sqliteJournal({ path }));
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncWriteJournal, AtomicWrite, OrderedRepr, QueryableJournal } from '../../src/persistence/spi.js';
import { type EventEnvelope, QueryAbortedError, ReadJournal } from '../../src/query/index.js';
import { jsonEvent, range, uniquePersistenceId } from './fixtures.js';

export interface ReadJournalSpecOptions {
  /** Per-test timeout in ms (default: vitest's). */
  readonly timeoutMs?: number;
}

const PAGE = 7;

/** Reads `iterable` until it ends or `count` elements came. */
async function take<T>(iterable: AsyncIterable<T>, count = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  if (count <= 0) return out;
  for await (const element of iterable) {
    out.push(element);
    if (out.length >= count) break;
  }
  return out;
}

const decode = (repr: OrderedRepr): readonly unknown[] => [JSON.parse(repr.payload as string) as unknown];
const seqs = (envelopes: readonly EventEnvelope[]): number[] => envelopes.map((envelope) => envelope.sequenceNr);

export function readJournalSpec(
  name: string,
  factory: () => (AsyncWriteJournal & QueryableJournal) | Promise<AsyncWriteJournal & QueryableJournal>,
  options: ReadJournalSpecOptions = {},
): void {
  const timeout = options.timeoutMs;

  describe(`readJournalSpec: ${name}`, () => {
    let journal: AsyncWriteJournal & QueryableJournal;
    let queries: ReadJournal;

    beforeAll(async () => {
      journal = await factory();
      await journal.start?.();
      queries = new ReadJournal(journal.queries(), decode, { pageSize: PAGE });
    });

    afterAll(async () => {
      await journal?.close();
    });

    /** Writes events `from..to` of `pid`, one AtomicWrite each, tagged by `tagsOf`. */
    async function write(pid: string, from: number, to: number, tagsOf: (nr: number) => readonly string[] = () => []): Promise<void> {
      const writes: AtomicWrite[] = range(from, to).map((nr) => ({ persistenceId: pid, events: [jsonEvent(pid, nr, { tags: tagsOf(nr) })] }));
      const outcomes = await journal.writeMessages(writes);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(writes.map(() => 'ok'));
    }

    describe('currentEventsByPersistenceId', () => {
      it('yields the stored events in order, decoded, with increasing offsets, and ends', { timeout }, async () => {
        const pid = uniquePersistenceId('q-pid');
        await write(pid, 1, 3);
        const envelopes = await take(queries.currentEventsByPersistenceId(pid));
        expect(seqs(envelopes)).toEqual([1, 2, 3]);
        expect(envelopes.map((envelope) => envelope.event)).toEqual([1, 2, 3].map((nr) => ({ persistenceId: pid, sequenceNr: nr, text: `event-${nr}` })));
        expect(envelopes.every((envelope) => envelope.persistenceId === pid && envelope.timestamp === 1_700_000_000_000 + envelope.sequenceNr)).toBe(true);
        const offsets = envelopes.map((envelope) => envelope.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        expect(new Set(offsets).size).toBe(3);
      });

      it('honours an inclusive sequence-number range', { timeout }, async () => {
        const pid = uniquePersistenceId('q-range');
        await write(pid, 1, 10);
        expect(seqs(await take(queries.currentEventsByPersistenceId(pid, 3, 5)))).toEqual([3, 4, 5]);
        expect(seqs(await take(queries.currentEventsByPersistenceId(pid, 9)))).toEqual([9, 10]);
        expect(seqs(await take(queries.currentEventsByPersistenceId(pid, 0, 0)))).toEqual([]);
      });

      it('reads 150 events across pages, and nothing for an unknown id', { timeout }, async () => {
        const pid = uniquePersistenceId('q-pages');
        await write(pid, 1, 150);
        expect(seqs(await take(queries.currentEventsByPersistenceId(pid)))).toEqual(range(1, 150));
        expect(await take(queries.currentEventsByPersistenceId(uniquePersistenceId('q-none')))).toEqual([]);
      });

      it('does not yield events written after it started', { timeout }, async () => {
        const pid = uniquePersistenceId('q-later');
        await write(pid, 1, 10);
        const seen: number[] = [];
        for await (const envelope of queries.currentEventsByPersistenceId(pid)) {
          seen.push(envelope.sequenceNr);
          if (envelope.sequenceNr === 2) await write(pid, 11, 20);
        }
        expect(seen).toEqual(range(1, 10));
      });

      it('does not yield deleted events', { timeout }, async () => {
        const pid = uniquePersistenceId('q-deleted');
        await write(pid, 1, 6);
        await journal.deleteMessagesTo(pid, 3);
        expect(seqs(await take(queries.currentEventsByPersistenceId(pid)))).toEqual([4, 5, 6]);
      });
    });

    describe('eventsByPersistenceId (live)', () => {
      it('yields stored events, then events written later, and ends at toSequenceNr', { timeout }, async () => {
        const pid = uniquePersistenceId('q-live');
        await write(pid, 1, 2);
        const iterator = queries.eventsByPersistenceId(pid, 0, 5)[Symbol.asyncIterator]();
        expect((await iterator.next()).value?.sequenceNr).toBe(1);
        expect((await iterator.next()).value?.sequenceNr).toBe(2);
        const third = iterator.next();
        await write(pid, 3, 6);
        expect((await third).value?.sequenceNr).toBe(3);
        expect((await iterator.next()).value?.sequenceNr).toBe(4);
        expect((await iterator.next()).value?.sequenceNr).toBe(5);
        expect((await iterator.next()).done).toBe(true);
      });

      it('ends with an AbortError when its signal is aborted while it waits', { timeout }, async () => {
        const pid = uniquePersistenceId('q-abort');
        await write(pid, 1, 1);
        const controller = new AbortController();
        const iterator = queries.eventsByPersistenceId(pid, 0, Number.MAX_SAFE_INTEGER, { signal: controller.signal })[Symbol.asyncIterator]();
        expect((await iterator.next()).value?.sequenceNr).toBe(1);
        const waiting = iterator.next();
        controller.abort(new Error('enough'));
        const error = await waiting.then(
          () => undefined,
          (cause: unknown) => cause,
        );
        expect(error).toBeInstanceOf(QueryAbortedError);
        expect((error as Error).name).toBe('AbortError');
      });
    });

    describe('currentEventsByTag', () => {
      it('yields the tagged events only, in offset order, across pages, and resumes after an offset (exclusive)', { timeout }, async () => {
        const tag = uniquePersistenceId('tag');
        const [a, b] = [uniquePersistenceId('q-tag-a'), uniquePersistenceId('q-tag-b')];
        await write(a, 1, 100, (nr) => (nr % 2 === 0 ? [tag] : []));
        await write(b, 1, 100, (nr) => (nr % 2 === 1 ? [tag, 'other'] : []));
        const all = await take(queries.currentEventsByTag(tag));
        expect(all).toHaveLength(100);
        expect(all.slice(0, 50).every((envelope) => envelope.persistenceId === a && envelope.sequenceNr % 2 === 0)).toBe(true);
        expect(all.every((envelope) => envelope.tags.includes(tag))).toBe(true);
        const resumed = await take(queries.currentEventsByTag(tag, all[41]!.offset));
        expect(resumed.map((envelope) => envelope.offset)).toEqual(all.slice(42).map((envelope) => envelope.offset));
        expect(await take(queries.currentEventsByTag(tag, all.at(-1)!.offset))).toEqual([]);
      });

      it('does not yield events written after it started', { timeout }, async () => {
        const tag = uniquePersistenceId('tag-later');
        const pid = uniquePersistenceId('q-tag-later');
        await write(pid, 1, 10, () => [tag]);
        const seen: number[] = [];
        for await (const envelope of queries.currentEventsByTag(tag)) {
          seen.push(envelope.sequenceNr);
          if (envelope.sequenceNr === 1) await write(pid, 11, 20, () => [tag]);
        }
        expect(seen).toEqual(range(1, 10));
      });
    });

    describe('eventsByTag (live)', () => {
      it('yields stored tagged events, then those written later by any persistenceId, each once', { timeout }, async () => {
        const tag = uniquePersistenceId('tag-live');
        const [a, b] = [uniquePersistenceId('q-tl-a'), uniquePersistenceId('q-tl-b')];
        await write(a, 1, 3, () => [tag]);
        const iterator = queries.eventsByTag(tag)[Symbol.asyncIterator]();
        const seen: string[] = [];
        for (let i = 0; i < 3; i++) seen.push(`${(await iterator.next()).value!.persistenceId === a ? 'a' : 'b'}${i + 1}`);
        const pending = iterator.next();
        await write(b, 1, 2, () => [tag]);
        await write(a, 4, 5, (nr) => (nr === 5 ? [tag] : []));
        const later = [await pending, await iterator.next(), await iterator.next()].map((result) => result.value!);
        expect(later.map((envelope) => [envelope.persistenceId === a ? 'a' : 'b', envelope.sequenceNr])).toEqual([
          ['b', 1],
          ['b', 2],
          ['a', 5],
        ]);
        await iterator.return?.();
      });
    });

    describe('allEvents', () => {
      it('current: every event in offset order, resumable; live: events written later', { timeout }, async () => {
        const pid = uniquePersistenceId('q-all');
        await write(pid, 1, 20);
        const mine = (envelopes: readonly EventEnvelope[]) => envelopes.filter((envelope) => envelope.persistenceId === pid);
        const all = mine(await take(queries.currentAllEvents()));
        expect(seqs(all)).toEqual(range(1, 20));
        expect(seqs(mine(await take(queries.currentAllEvents(all[9]!.offset))))).toEqual(range(11, 20));
        const live = queries.allEvents(all.at(-1)!.offset)[Symbol.asyncIterator]();
        const next = live.next();
        await write(pid, 21, 21);
        const envelope = (await next).value!;
        expect([envelope.persistenceId, envelope.sequenceNr]).toEqual([pid, 21]);
        await live.return?.();
      });
    });

    describe('persistenceIds', () => {
      it('current: each id once, also with many events and across pages', { timeout }, async () => {
        const ids = range(1, 20).map((nr) => uniquePersistenceId(`q-ids-${nr}`));
        for (const id of ids) await write(id, 1, 3);
        const listed = await take(queries.currentPersistenceIds());
        expect(listed.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
        expect(new Set(listed).size).toBe(listed.length);
      });

      it('live: ids that appear later are yielded once', { timeout }, async () => {
        const known = new Set(await take(queries.currentPersistenceIds()));
        const iterator = queries.persistenceIds()[Symbol.asyncIterator]();
        const fresh = uniquePersistenceId('q-ids-new');
        // First the ids stored so far (this suite's tests run one after another: no other writer now).
        const seen = new Set<string>();
        while ([...known].some((id) => !seen.has(id))) {
          const result = await iterator.next();
          if (result.done) throw new Error('a live persistenceIds query ended');
          seen.add(result.value);
        }
        const result = iterator.next();
        await write(fresh, 1, 2);
        expect((await result).value).toBe(fresh);
        await write(fresh, 3, 3);
        const other = uniquePersistenceId('q-ids-other');
        await write(other, 1, 1);
        expect((await iterator.next()).value).toBe(other);
        await iterator.return?.();
      });
    });
  });
}
