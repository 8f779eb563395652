import { describe, expect, it } from 'vitest';
import { RecoveryCompleted, type AsyncWriteJournal, type PersistentRepr, type WriteOutcome } from '../../src/index.js';
import { Deferred, testSystem } from './support/harness.js';
import { ScriptedActor } from './support/scripted-actor.js';

const EVENTS = 1_000_000;

/**
 * A journal holding one stream of a million events that it makes up as they are read, so that
 * nothing but the persistent actor could be holding them. It counts how far ahead of the actor it
 * got: a recovery that buffered events would let that gap grow.
 */
class SyntheticJournal implements AsyncWriteJournal {
  handedOut = 0;
  handled = 0;
  maxGap = 0;

  async writeMessages(): Promise<readonly WriteOutcome[]> {
    throw new Error('read-only');
  }

  async replayMessages(persistenceId: string, from: number, to: number, max: number, onMessage: (event: PersistentRepr) => void | Promise<void>): Promise<void> {
    const last = Math.min(to, EVENTS, from + max - 1);
    for (let sequenceNr = from; sequenceNr <= last; sequenceNr++) {
      this.handedOut++;
      const pending = onMessage({
        persistenceId,
        sequenceNr,
        serializerId: 'json',
        manifest: 'e@1',
        payload: `{"type":"e","n":${sequenceNr},"pad":"${'x'.repeat(48)}"}`,
        writerUuid: 'w',
        timestamp: 0,
        tags: [],
      });
      if (pending) await pending;
      this.maxGap = Math.max(this.maxGap, this.handedOut - this.handled);
      if ((sequenceNr & 8191) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async readHighestSequenceNr(): Promise<number> {
    return EVENTS;
  }

  async deleteMessagesTo(): Promise<void> {}

  async close(): Promise<void> {}
}

describe('recovery streams', () => {
  it('a million events are replayed one at a time, never buffered; memory stays far below holding them', async () => {
    const journal = new SyntheticJournal();
    const { system } = testSystem({ journal });
    const done = new Deferred<number>();
    let sum = 0;
    let peakHeap = 0;
    global.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    system.actorOf(
      () =>
        new ScriptedActor('big', {
          recover(actor, message) {
            if (message instanceof RecoveryCompleted) {
              done.resolve(actor.lastSequenceNr);
              return;
            }
            journal.handled++;
            sum += (message as { n: number }).n;
            if ((journal.handled & 16383) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
          },
        }),
    );
    expect(await done.promise).toBe(EVENTS);
    expect(journal.handled).toBe(EVENTS);
    expect(sum).toBe((EVENTS * (EVENTS + 1)) / 2);
    // Each event had reached onRecover by the time the journal's onMessage call returned.
    expect(journal.maxGap).toBe(0);
    // Holding a million parsed events (an object and a 48-char string each) would take well over 100 MB.
    const growthMb = (peakHeap - baseline) / 2 ** 20;
    console.log(`heap growth during a 1M-event recovery: ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(64);
  }, 60_000);
});
