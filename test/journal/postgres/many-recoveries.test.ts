/**
 * A restart with 10 000 persistent actors on PostgreSQL: recoveries are bounded by
 * `maxConcurrentRecoveries`, so the database sees at most that many replays at once, and every actor
 * still recovers its state.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ActorSystem, PersistentActor, RecoveryCompleted, type AsyncWriteJournal, type PersistentRepr, type SnapshotOffer } from '../../../src/index.js';
import { postgresJournal, postgresSnapshotStore } from '../../../journal/postgres/index.js';
import { postgresResource } from '../../support/services.js';

const pg = await postgresResource('many_recoveries');
afterAll(() => pg?.cleanup());

const ACTORS = 10_000;
const MAX_CONCURRENT = 16;

class Counter extends PersistentActor<'add' | 'get', { type: 'added' }> {
  count = 0;
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: unknown): void {
    if (command === 'add') void this.persist({ type: 'added' }, () => this.sender.tell(++this.count));
    else if (command === 'get') this.sender.tell(this.count);
  }
  onRecover(message: { type: 'added' } | SnapshotOffer | RecoveryCompleted): void {
    if (!(message instanceof RecoveryCompleted) && (message as { type?: string }).type === 'added') this.count++;
  }
}

/** Counts replays in progress at the same time (wrapping the real plugin; nothing is simulated). */
function countingJournal(inner: AsyncWriteJournal, stats: { current: number; max: number; total: number }): AsyncWriteJournal {
  return {
    writeMessages: (writes) => inner.writeMessages(writes),
    async replayMessages(pid: string, from: number, to: number, max: number, onMessage: (event: PersistentRepr) => void | Promise<void>) {
      stats.current++;
      stats.total++;
      stats.max = Math.max(stats.max, stats.current);
      try {
        await inner.replayMessages(pid, from, to, max, onMessage);
      } finally {
        stats.current--;
      }
    },
    readHighestSequenceNr: (pid, from) => inner.readHighestSequenceNr(pid, from),
    deleteMessagesTo: (pid, to) => inner.deleteMessagesTo(pid, to),
    start: () => inner.start?.() ?? Promise.resolve(),
    close: () => inner.close(),
  };
}

describe.runIf(pg)('PostgreSQL: a restart with 10 000 actors', () => {
  it('recovers every actor with at most maxConcurrentRecoveries replays at once', { timeout: 240_000 }, async () => {
    const { connectionString, schema } = pg!;
    const first = ActorSystem.create('many-1', {
      journal: postgresJournal({ connectionString, schema }),
      snapshotStore: postgresSnapshotStore({ connectionString, schema }),
    });
    const refs = Array.from({ length: ACTORS }, (_, i) => first.actorOf(() => new Counter(`counter-${i}`), `c${i}`));
    // Actor i persists (i % 3) + 1 events, so a mix-up between streams would show in the counts.
    await Promise.all(
      refs.map(async (ref, i) => {
        for (let n = 0; n <= i % 3; n++) await ref.ask('add', 60_000);
      }),
    );
    await first.terminate();

    const stats = { current: 0, max: 0, total: 0 };
    const second = ActorSystem.create('many-2', {
      journal: countingJournal(postgresJournal({ connectionString, schema }), stats),
      snapshotStore: postgresSnapshotStore({ connectionString, schema }),
      persistence: { maxConcurrentRecoveries: MAX_CONCURRENT },
    });
    const again = Array.from({ length: ACTORS }, (_, i) => second.actorOf(() => new Counter(`counter-${i}`), `c${i}`));
    const counts = await Promise.all(again.map((ref) => ref.ask<number>('get', 120_000)));
    expect(counts.every((count, i) => count === (i % 3) + 1)).toBe(true);
    expect(stats.total).toBe(ACTORS);
    expect(stats.max).toBeLessThanOrEqual(MAX_CONCURRENT);
    // The bound is reached, i.e. recoveries really ran side by side up to it (not one at a time).
    expect(stats.max).toBeGreaterThan(1);
    await second.terminate();
  });
});
