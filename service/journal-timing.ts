/**
 * Times the journal the service created, for its metrics: a pass-through wrapper around the plugin
 * (`passThrough`: every other member goes straight to it). One `performance.now()` pair per write call,
 * which is a whole group-committed batch, and per replay (`replayForRecovery` too): nothing per event.
 */
import type { AsyncWriteJournal } from '../src/persistence/journal.js';
import { passThrough } from './health.js';

export interface JournalTimings {
  /** A `writeMessages` call settled after `seconds` (resolved or rejected). */
  written(seconds: number): void;
  /** A `replayMessages` (or `replayForRecovery`) call settled after `seconds`. */
  replayed(seconds: number): void;
}

export function timedJournal(journal: AsyncWriteJournal, timings: JournalTimings): AsyncWriteJournal {
  const timed = <T>(started: number, settled: Promise<T>, report: (seconds: number) => void): Promise<T> => {
    const done = (): void => report((performance.now() - started) / 1000);
    settled.then(done, done);
    return settled;
  };
  const overrides: Partial<AsyncWriteJournal> = {
    writeMessages: (writes) => timed(performance.now(), journal.writeMessages(writes), timings.written),
    replayMessages: (persistenceId, from, to, max, onMessage) => timed(performance.now(), journal.replayMessages(persistenceId, from, to, max, onMessage), timings.replayed),
  };
  // Recovery uses it instead of replayMessages where the plugin has it (PostgreSQL, MySQL): timed the same.
  const replayForRecovery = journal.replayForRecovery?.bind(journal);
  if (replayForRecovery !== undefined) {
    overrides.replayForRecovery = (persistenceId, from, to, max, onMessage) =>
      timed(performance.now(), replayForRecovery(persistenceId, from, to, max, onMessage), timings.replayed);
  }
  return passThrough(journal, overrides);
}
