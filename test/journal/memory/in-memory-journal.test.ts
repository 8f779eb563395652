import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { inMemoryJournal, inMemorySnapshotStore, SequenceNrConflictError } from '../../../journal/memory/index.js';
import { SnapshotMetadata } from '../../../src/persistence/snapshot-metadata.js';
import { SnapshotSelectionCriteria } from '../../../src/persistence/snapshot-selection-criteria.js';
import { atomicWrite, jsonEvent, replayAll, sequenceNrs } from '../../../journal/testkit/fixtures.js';

function capturingLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: number; msg: string }),
  };
}

describe('inMemoryJournal', () => {
  it('warns once, on start, that nothing survives a restart', async () => {
    const { logger, lines } = capturingLogger();
    const journal = inMemoryJournal({ logger });
    expect(lines()).toEqual([]);
    await journal.start();
    await journal.start();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const warnings = lines().filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/in-memory journal.*do not survive/);
  });

  it('keeps its contents after close, for a second system on the same instance', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    await journal.writeMessages([atomicWrite('kept', 1, 3)]);
    await journal.close();
    await journal.start();
    expect(sequenceNrs(await replayAll(journal, 'kept'))).toEqual([1, 2, 3]);
    await journal.deleteMessagesTo('kept', 3);
    await journal.close();
    expect(await journal.readHighestSequenceNr('kept', 0)).toBe(3);
  });

  it('lets a stream it never held start past 1 (a snapshot from an earlier process covers the rest), warns, then holds it to continuity', async () => {
    const { logger, lines } = capturingLogger();
    const journal = inMemoryJournal({ logger });
    expect((await journal.writeMessages([atomicWrite('restarted', 4, 5)]))[0]!.status).toBe('ok');
    expect(sequenceNrs(await replayAll(journal, 'restarted'))).toEqual([4, 5]);
    expect(await journal.readHighestSequenceNr('restarted', 0)).toBe(5);
    const warnings = lines().filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/"restarted" continues at 4/);
    const [hole] = await journal.writeMessages([atomicWrite('restarted', 7, 7)]);
    expect(hole!.status).toBe('failed');
    expect((await journal.writeMessages([atomicWrite('restarted', 6, 6)]))[0]!.status).toBe('ok');
  });

  it('reports a conflict as a SequenceNrConflictError, also for a write that would leave a hole', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    await journal.writeMessages([atomicWrite('c', 1, 2)]);
    const [collision, hole] = await journal.writeMessages([atomicWrite('c', 2, 2), atomicWrite('c', 4, 4)]);
    for (const outcome of [collision, hole]) {
      expect(outcome!.status).toBe('failed');
      if (outcome!.status === 'failed') {
        expect(outcome!.cause).toBeInstanceOf(SequenceNrConflictError);
        expect((outcome!.cause as SequenceNrConflictError).code).toBe('ERR_SEQUENCE_NR_CONFLICT');
        expect((outcome!.cause as SequenceNrConflictError).expectedSequenceNr).toBe(3);
      }
    }
    expect(collision!.status === 'failed' && collision!.cause.message).toContain('already stored by another writer');
    expect(hole!.status === 'failed' && hole!.cause.message).toContain('leave a hole');
    expect(await journal.readHighestSequenceNr('c', 0)).toBe(2);
  });

  it('rejects (not fails) a malformed event, and stores nothing of its write', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    const bad = { persistenceId: 'r', events: [jsonEvent('r', 1), jsonEvent('r', 2, { payload: 42 as unknown as string })] };
    const [outcome] = await journal.writeMessages([bad]);
    expect(outcome!.status).toBe('rejected');
    expect(await journal.readHighestSequenceNr('r', 0)).toBe(0);
  });

  it('does not disturb a running replay when a prefix is deleted meanwhile', async () => {
    const journal = inMemoryJournal({ logger: pino({ level: 'silent' }) });
    await journal.writeMessages([atomicWrite('d', 1, 10)]);
    const seen: number[] = [];
    await journal.replayMessages('d', 1, 10, 10, async (event) => {
      seen.push(event.sequenceNr);
      if (event.sequenceNr === 3) await journal.deleteMessagesTo('d', 8);
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(sequenceNrs(await replayAll(journal, 'd'))).toEqual([9, 10]);
  });
});

describe('inMemorySnapshotStore', () => {
  it('keeps its contents after close', async () => {
    const store = inMemorySnapshotStore();
    await store.save(new SnapshotMetadata('s', 4, 1), { serializerId: 'json', manifest: 'S', payload: '{}' });
    await store.close();
    expect((await store.load('s', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(4);
  });
});
