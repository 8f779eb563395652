/**
 * Times the journal the service created, for its metrics: a pass-through wrapper around the plugin
 * (`passThrough`: every other member goes straight to it). One `performance.now()` pair per write call,
 * which is a whole group-committed batch, and per replay: nothing per event.
 */
import type { AsyncWriteJournal } from '../src/persistence/journal.js';
import { passThrough } from './health.js';

export interface JournalTimings {
  /** A `writeMessages` call settled after `seconds` (resolved or rejected). */
  written(seconds: number): void;
  /** A `replayMessages` call settled after `seconds`. */
  replayed(seconds: number): void;
}

export function timedJournal(journal: AsyncWriteJournal, timings: JournalTimings): AsyncWriteJournal {
  return passThrough(journal, {
    writeMessages: (writes) => {
      const started = performance.now();
      const written = journal.writeMessages(writes);
      const done = (): void => timings.written((performance.now() - started) / 1000);
      written.then(done, done);
      return written;
    },
    replayMessages: (persistenceId, from, to, max, onMessage) => {
      const started = performance.now();
      const replayed = journal.replayMessages(persistenceId, from, to, max, onMessage);
      const done = (): void => timings.replayed((performance.now() - started) / 1000);
      replayed.then(done, done);
      return replayed;
    },
  });
}
