import { type AsyncWriteJournal, type AtomicWrite, type PersistentRepr, SequenceNrConflictError } from '../../src/persistence/spi.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allBytes, atomicWrite, expectSameEvent, jsonEvent, type JsonComparison, range, replayAll, sequenceNrs, uniquePersistenceId, writeEvents } from './fixtures.js';

export interface JournalSpecOptions {
  /** Length of the stream in the long-replay test (default 20 000). */
  largeStreamEvents?: number;
  /** persistenceIds writing at the same time in the group-commit test (default 200). */
  concurrentWriters?: number;
  /** Per-test timeout in ms (default: vitest's). */
  timeoutMs?: number;
  /**
   * How JSON text payloads must come back: `exact` (default) byte for byte, or `semantic` (equal after
   * JSON.parse) for stores that keep a parsed form, such as PostgreSQL `jsonb`, which reorders keys
   * and rewrites whitespace.
   */
  jsonPayloads?: JsonComparison;
}

/**
 * The journal TCK (what Akka's JournalSpec checks, plus group-commit safety): every journal plugin
 * must pass it. `factory` is called once for the suite; each test uses persistenceIds of its own,
 * so the journal may also be shared with other suites.
 *
 *   journalSpec('sqlite', () => sqliteJournal({ path }));
 */
export function journalSpec(name: string, factory: () => AsyncWriteJournal | Promise<AsyncWriteJournal>, options: JournalSpecOptions = {}): void {
  const largeStream = options.largeStreamEvents ?? 20_000;
  const writers = options.concurrentWriters ?? 200;
  const timeout = options.timeoutMs;
  const jsonPayloads = options.jsonPayloads ?? 'exact';
  const same = (actual: PersistentRepr, expected: PersistentRepr): void => expectSameEvent(actual, expected, jsonPayloads);

  describe(`journalSpec: ${name}`, () => {
    let journal: AsyncWriteJournal;

    beforeAll(async () => {
      journal = await factory();
      await journal.start?.();
    });

    afterAll(async () => {
      await journal?.close();
    });

    /** A stream with events 1..5, written one AtomicWrite per event (Akka's JournalSpec fixture). */
    async function fiveEvents(label: string): Promise<string> {
      const pid = uniquePersistenceId(label);
      await writeEvents(journal, pid, 1, 5);
      return pid;
    }

    describe('replay', () => {
      it('replays all events in order', { timeout }, async () => {
        const pid = await fiveEvents('replay-all');
        const events = await replayAll(journal, pid);
        expect(sequenceNrs(events)).toEqual([1, 2, 3, 4, 5]);
        for (const [i, event] of events.entries()) same(event, jsonEvent(pid, i + 1));
      });

      it('replays from a lower bound', { timeout }, async () => {
        const pid = await fiveEvents('replay-from');
        expect(sequenceNrs(await replayAll(journal, pid, 3))).toEqual([3, 4, 5]);
      });

      it('treats a lower bound of 0 like 1', { timeout }, async () => {
        const pid = await fiveEvents('replay-from-zero');
        expect(sequenceNrs(await replayAll(journal, pid, 0))).toEqual([1, 2, 3, 4, 5]);
      });

      it('replays up to an upper bound', { timeout }, async () => {
        const pid = await fiveEvents('replay-to');
        expect(sequenceNrs(await replayAll(journal, pid, 1, 3))).toEqual([1, 2, 3]);
      });

      it('replays a closed range from..to', { timeout }, async () => {
        const pid = await fiveEvents('replay-range');
        expect(sequenceNrs(await replayAll(journal, pid, 2, 4))).toEqual([2, 3, 4]);
        expect(sequenceNrs(await replayAll(journal, pid, 3, 3))).toEqual([3]);
      });

      it('replays at most max events', { timeout }, async () => {
        const pid = await fiveEvents('replay-max');
        expect(sequenceNrs(await replayAll(journal, pid, 1, Number.MAX_SAFE_INTEGER, 3))).toEqual([1, 2, 3]);
        expect(sequenceNrs(await replayAll(journal, pid, 2, 3, 5))).toEqual([2, 3]);
        expect(sequenceNrs(await replayAll(journal, pid, 2, 5, 1))).toEqual([2]);
      });

      it('replays nothing when max is 0', { timeout }, async () => {
        const pid = await fiveEvents('replay-max-zero');
        expect(await replayAll(journal, pid, 1, Number.MAX_SAFE_INTEGER, 0)).toEqual([]);
      });

      it('treats max = Number.MAX_SAFE_INTEGER as no limit', { timeout }, async () => {
        const pid = await fiveEvents('replay-max-unbounded');
        expect(sequenceNrs(await replayAll(journal, pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))).toEqual([1, 2, 3, 4, 5]);
      });

      it('replays nothing when the lower bound is above the upper bound or the stream', { timeout }, async () => {
        const pid = await fiveEvents('replay-empty-range');
        expect(await replayAll(journal, pid, 3, 2)).toEqual([]);
        expect(await replayAll(journal, pid, 6)).toEqual([]);
      });

      it('replays nothing for an unknown persistenceId', { timeout }, async () => {
        expect(await replayAll(journal, uniquePersistenceId('replay-unknown'))).toEqual([]);
      });

      it('waits for a promise returned by onMessage before the next event (backpressure)', { timeout }, async () => {
        const pid = uniquePersistenceId('replay-backpressure');
        await writeEvents(journal, pid, 1, 30);
        const seen: number[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        await journal.replayMessages(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, async (event) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (event.sequenceNr % 7 === 0) await new Promise<void>((resolve) => setTimeout(resolve, 2));
          seen.push(event.sequenceNr);
          inFlight--;
        });
        expect(maxInFlight).toBe(1);
        expect(seen).toEqual(range(1, 30));
      });

      it('rejects the replay with the error thrown by onMessage', { timeout }, async () => {
        const pid = await fiveEvents('replay-throws');
        const boom = new Error('consumer failed');
        const seen: number[] = [];
        const replay = journal.replayMessages(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event) => {
          seen.push(event.sequenceNr);
          if (event.sequenceNr === 2) throw boom;
        });
        await expect(replay).rejects.toBe(boom);
        expect(seen).toEqual([1, 2]);
      });

      it(`replays a long stream (${largeStream} events) completely and in order`, { timeout: timeout ?? 60_000 }, async () => {
        const pid = uniquePersistenceId('replay-large');
        const batch = 500;
        const writes: AtomicWrite[] = [];
        for (let from = 1; from <= largeStream; from += batch) writes.push(atomicWrite(pid, from, Math.min(largeStream, from + batch - 1)));
        const outcomes = await journal.writeMessages(writes);
        expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
        let expected = 1;
        let outOfOrder = 0;
        await journal.replayMessages(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (event) => {
          if (event.sequenceNr !== expected) outOfOrder++;
          expected++;
        });
        expect(outOfOrder).toBe(0);
        expect(expected - 1).toBe(largeStream);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(largeStream);
      });
    });

    describe('highest sequence number', () => {
      it('is 0 for an unknown persistenceId', { timeout }, async () => {
        expect(await journal.readHighestSequenceNr(uniquePersistenceId('highest-unknown'), 0)).toBe(0);
      });

      it('is the last stored sequence number, whatever the hint', { timeout }, async () => {
        const pid = await fiveEvents('highest');
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(5);
        expect(await journal.readHighestSequenceNr(pid, 3)).toBe(5);
      });

      it('survives deleting some events', { timeout }, async () => {
        const pid = await fiveEvents('highest-partial-delete');
        await journal.deleteMessagesTo(pid, 3);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(5);
      });

      it('survives deleting every event, and the stream continues after it', { timeout }, async () => {
        const pid = await fiveEvents('highest-delete-all');
        await journal.deleteMessagesTo(pid, 5);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(5);
        expect(await journal.readHighestSequenceNr(pid, 5)).toBe(5);
        await writeEvents(journal, pid, 6, 6);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual([6]);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(6);
      });
    });

    describe('what a recovery reads (replayForRecovery where offered, else replay then highest)', () => {
      async function recover(pid: string, from: number, to: number, max: number): Promise<{ sequenceNrs: number[]; highest: number }> {
        const seen: number[] = [];
        const onMessage = (event: PersistentRepr): void => {
          expect(event.persistenceId).toBe(pid);
          seen.push(event.sequenceNr);
        };
        if (journal.replayForRecovery !== undefined) {
          const highest = await journal.replayForRecovery(pid, from, to, max, onMessage);
          return { sequenceNrs: seen, highest };
        }
        await journal.replayMessages(pid, from, to, max, onMessage);
        return { sequenceNrs: seen, highest: await journal.readHighestSequenceNr(pid, from) };
      }

      it('answers 0 and replays nothing for an unknown persistenceId', { timeout }, async () => {
        expect(await recover(uniquePersistenceId('recover-unknown'), 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual({ sequenceNrs: [], highest: 0 });
      });

      it('replays the range and answers the highest beyond it', { timeout }, async () => {
        const pid = await fiveEvents('recover-range');
        expect(await recover(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual({ sequenceNrs: [1, 2, 3, 4, 5], highest: 5 });
        expect(await recover(pid, 2, 3, Number.MAX_SAFE_INTEGER)).toEqual({ sequenceNrs: [2, 3], highest: 5 });
        expect(await recover(pid, 2, Number.MAX_SAFE_INTEGER, 2)).toEqual({ sequenceNrs: [2, 3], highest: 5 });
        expect(await recover(pid, 6, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual({ sequenceNrs: [], highest: 5 });
        expect(await recover(pid, 1, Number.MAX_SAFE_INTEGER, 0)).toEqual({ sequenceNrs: [], highest: 5 });
      });

      it('answers the highest after every event was deleted', { timeout }, async () => {
        const pid = await fiveEvents('recover-deleted');
        await journal.deleteMessagesTo(pid, 5);
        expect(await recover(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual({ sequenceNrs: [], highest: 5 });
      });

      it('streams a long stream in order to its end', { timeout }, async () => {
        const pid = uniquePersistenceId('recover-large');
        const events = Math.min(largeStream, 12_000);
        const writes: AtomicWrite[] = [];
        for (let from = 1; from <= events; from += 500) writes.push(atomicWrite(pid, from, Math.min(events, from + 499)));
        expect((await journal.writeMessages(writes)).every((outcome) => outcome.status === 'ok')).toBe(true);
        const { sequenceNrs: seen, highest } = await recover(pid, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        expect(seen).toEqual(range(1, events));
        expect(highest).toBe(events);
      });
    });

    describe('deleteMessagesTo', () => {
      it('deletes a prefix and keeps the rest', { timeout }, async () => {
        const pid = await fiveEvents('delete-partial');
        await journal.deleteMessagesTo(pid, 3);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual([4, 5]);
        expect(sequenceNrs(await replayAll(journal, pid, 2, 4))).toEqual([4]);
      });

      it('deletes everything', { timeout }, async () => {
        const pid = await fiveEvents('delete-all');
        await journal.deleteMessagesTo(pid, 5);
        expect(await replayAll(journal, pid)).toEqual([]);
      });

      it('deletes everything when the bound lies beyond the highest sequence number', { timeout }, async () => {
        const pid = await fiveEvents('delete-beyond');
        await journal.deleteMessagesTo(pid, 100);
        expect(await replayAll(journal, pid)).toEqual([]);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(5);
        await writeEvents(journal, pid, 6, 7);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual([6, 7]);
      });

      it('can be repeated, and a lower bound than before changes nothing', { timeout }, async () => {
        const pid = await fiveEvents('delete-twice');
        await journal.deleteMessagesTo(pid, 3);
        await journal.deleteMessagesTo(pid, 2);
        await journal.deleteMessagesTo(pid, 3);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual([4, 5]);
      });

      it('is not an error for an unknown persistenceId', { timeout }, async () => {
        const pid = uniquePersistenceId('delete-unknown');
        await journal.deleteMessagesTo(pid, 10);
        expect(await journal.readHighestSequenceNr(pid, 0)).toBe(0);
      });

      it('leaves other persistenceIds alone', { timeout }, async () => {
        const a = await fiveEvents('delete-isolation-a');
        const b = await fiveEvents('delete-isolation-b');
        await journal.deleteMessagesTo(a, 5);
        expect(sequenceNrs(await replayAll(journal, b))).toEqual([1, 2, 3, 4, 5]);
      });
    });

    describe('writes', () => {
      it('resolves an empty call with no outcomes', { timeout }, async () => {
        expect(await journal.writeMessages([])).toEqual([]);
      });

      it('stores the events of one AtomicWrite together', { timeout }, async () => {
        const pid = uniquePersistenceId('atomic');
        const outcomes = await journal.writeMessages([atomicWrite(pid, 1, 4), atomicWrite(pid, 5, 5)]);
        expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual([1, 2, 3, 4, 5]);
      });

      it('stores writes of several persistenceIds in one call, one outcome per write in order', { timeout }, async () => {
        const a = uniquePersistenceId('multi-a');
        const b = uniquePersistenceId('multi-b');
        const c = uniquePersistenceId('multi-c');
        const outcomes = await journal.writeMessages([atomicWrite(a, 1, 2), atomicWrite(b, 1, 1), atomicWrite(c, 1, 3), atomicWrite(a, 3, 3)]);
        expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
        expect(sequenceNrs(await replayAll(journal, a))).toEqual([1, 2, 3]);
        expect(sequenceNrs(await replayAll(journal, b))).toEqual([1]);
        expect(sequenceNrs(await replayAll(journal, c))).toEqual([1, 2, 3]);
      });

      it('fails a write that collides with stored sequence numbers, without touching the stream or the other writes', { timeout }, async () => {
        const before = uniquePersistenceId('conflict-before');
        const conflicted = await fiveEvents('conflict');
        const after = uniquePersistenceId('conflict-after');
        const intruder: AtomicWrite = {
          persistenceId: conflicted,
          events: range(4, 7).map((nr) => jsonEvent(conflicted, nr, { writerUuid: 'intruder', payload: '"intruder"' })),
        };
        const outcomes = await journal.writeMessages([atomicWrite(before, 1, 2), intruder, atomicWrite(after, 1, 1)]);
        expect(outcomes.map((o) => o.status)).toEqual(['ok', 'failed', 'ok']);
        const failed = outcomes[1]!;
        // One error class for every plugin, so an application can test for a conflict the same way everywhere.
        const cause = (failed as { cause?: unknown }).cause;
        expect(cause).toBeInstanceOf(SequenceNrConflictError);
        expect((cause as SequenceNrConflictError).code).toBe('ERR_SEQUENCE_NR_CONFLICT');
        expect((cause as SequenceNrConflictError).persistenceId).toBe(conflicted);
        // Atomic: neither the colliding events 4, 5 nor the new 6, 7 of the failed write were stored.
        const events = await replayAll(journal, conflicted);
        expect(sequenceNrs(events)).toEqual([1, 2, 3, 4, 5]);
        for (const [i, event] of events.entries()) same(event, jsonEvent(conflicted, i + 1));
        expect(await journal.readHighestSequenceNr(conflicted, 0)).toBe(5);
        expect(sequenceNrs(await replayAll(journal, before))).toEqual([1, 2]);
        expect(sequenceNrs(await replayAll(journal, after))).toEqual([1]);
      });

      it('fails a second writer of the same sequence number in one call', { timeout }, async () => {
        const pid = uniquePersistenceId('conflict-same-call');
        const second = { persistenceId: pid, events: [jsonEvent(pid, 1, { writerUuid: 'second', payload: '"second"' })] };
        const outcomes = await journal.writeMessages([atomicWrite(pid, 1, 1), second]);
        expect(outcomes.map((o) => o.status)).toEqual(['ok', 'failed']);
        expect((outcomes[1] as { cause: Error }).cause).toBeInstanceOf(SequenceNrConflictError);
        const events = await replayAll(journal, pid);
        expect(events).toHaveLength(1);
        same(events[0]!, jsonEvent(pid, 1));
      });

      it('stores pipelined calls of one persistenceId in order (persistAsync issues them without waiting)', { timeout }, async () => {
        const pid = uniquePersistenceId('pipelined');
        const calls: Promise<readonly unknown[]>[] = [];
        for (let nr = 1; nr <= 50; nr++) calls.push(journal.writeMessages([atomicWrite(pid, nr, nr)]));
        const results = await Promise.all(calls);
        expect(results.flat().every((o) => (o as { status: string }).status === 'ok')).toBe(true);
        expect(sequenceNrs(await replayAll(journal, pid))).toEqual(range(1, 50));
      });

      it(`keeps every write of ${writers} concurrent writers apart (group commit)`, { timeout: timeout ?? 60_000 }, async () => {
        const pids = range(1, writers).map((i) => uniquePersistenceId(`concurrent-${i}`));
        const rounds = 5;
        const writeRounds = async (pid: string, index: number): Promise<void> => {
          let next = 1;
          for (let round = 0; round < rounds; round++) {
            const size = 1 + ((index + round) % 3);
            const outcomes = await journal.writeMessages([atomicWrite(pid, next, next + size - 1)]);
            expect(outcomes.map((o) => o.status)).toEqual(['ok']);
            next += size;
          }
        };
        await Promise.all(pids.map((pid, index) => writeRounds(pid, index)));
        for (const [index, pid] of pids.entries()) {
          let total = 0;
          for (let round = 0; round < rounds; round++) total += 1 + ((index + round) % 3);
          const events = await replayAll(journal, pid);
          expect(sequenceNrs(events)).toEqual(range(1, total));
          for (const [i, event] of events.entries()) same(event, jsonEvent(pid, i + 1));
          expect(await journal.readHighestSequenceNr(pid, 0)).toBe(total);
        }
      });

      it('fails only the conflicting write among concurrent calls', { timeout }, async () => {
        const pids = range(1, 20).map((i) => uniquePersistenceId(`concurrent-conflict-${i}`));
        await Promise.all(pids.map((pid) => journal.writeMessages([atomicWrite(pid, 1, 2)])));
        const victim = pids[7]!;
        const calls = pids.map((pid) => journal.writeMessages([pid === victim ? atomicWrite(pid, 2, 3) : atomicWrite(pid, 3, 4)]));
        const outcomes = (await Promise.all(calls)).map((o) => o[0]!.status);
        expect(outcomes).toEqual(pids.map((pid) => (pid === victim ? 'failed' : 'ok')));
        expect(sequenceNrs(await replayAll(journal, victim))).toEqual([1, 2]);
        for (const pid of pids) if (pid !== victim) expect(await journal.readHighestSequenceNr(pid, 0)).toBe(4);
      });
    });

    describe('payloads', () => {
      it('round-trips binary payloads exactly, with manifest, serializerId, writerUuid, timestamp and tags', { timeout }, async () => {
        const pid = uniquePersistenceId('binary');
        const events: PersistentRepr[] = [
          jsonEvent(pid, 1, { serializerId: 'proto', manifest: 'Bin.v2', payload: allBytes(), tags: ['red', 'blue'] }),
          jsonEvent(pid, 2, { serializerId: 'proto', manifest: '', payload: new Uint8Array(0), tags: [] }),
          jsonEvent(pid, 3, { serializerId: 'raw', manifest: 'Sub', payload: allBytes().subarray(10, 20), writerUuid: 'w-2', timestamp: 0 }),
        ];
        expect((await journal.writeMessages([{ persistenceId: pid, events }])).map((o) => o.status)).toEqual(['ok']);
        const replayed = await replayAll(journal, pid);
        expect(replayed).toHaveLength(3);
        for (const [i, event] of replayed.entries()) same(event, events[i]!);
      });

      const jsonTitle = jsonPayloads === 'exact' ? 'exactly (kept as text, not re-encoded)' : 'as the same JSON value (semantic comparison)';
      it(`round-trips JSON text payloads ${jsonTitle}`, { timeout }, async () => {
        const pid = uniquePersistenceId('json');
        const texts = [
          '{"b":1,"a":[1,2,{"c":"d"}],"n":null}',
          '{ "spaced" :  true }',
          '"plain string with \\"quotes\\", a tab \\t and unicode: é ✓ 😀"',
          '[]',
          '{"big":12345678901234567890,"neg":-0.5e-7}',
        ];
        const events = texts.map((payload, i) => jsonEvent(pid, i + 1, { payload, tags: i === 0 ? ['tag with space', 'ünï', 'x'] : ['only'] }));
        expect((await journal.writeMessages([{ persistenceId: pid, events }])).map((o) => o.status)).toEqual(['ok']);
        const replayed = await replayAll(journal, pid);
        expect(replayed).toHaveLength(texts.length);
        for (const [i, event] of replayed.entries()) same(event, events[i]!);
      });
    });
  });
}
