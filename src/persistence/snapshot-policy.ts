/**
 * "Snapshot every N events", one at a time: a persistent actor counts what it applied and asks
 * whether a snapshot is due; the next one is not taken while one is being saved (the save's
 * SaveSnapshotSuccess / SaveSnapshotFailure ends it). Shared by the outbox and deduplicating entities.
 */
import { InvalidOptionError } from '../actor/errors.js';

export class SnapshotPolicy {
  #sinceSnapshot = 0;
  #inFlight = false;

  /** @param every events between snapshots; 0 means never. */
  constructor(readonly every: number) {
    if (!Number.isSafeInteger(every) || every < 0) throw new InvalidOptionError(`snapshotEvery must be an integer >= 0, got ${String(every)}`);
  }

  /** Counts one applied event (live or replayed: replayed ones since the last snapshot count too). */
  applied(): void {
    this.#sinceSnapshot++;
  }

  /** True when a snapshot should be taken now; it then counts as being saved until `settled()`. */
  takeIfDue(): boolean {
    if (this.every === 0 || this.#sinceSnapshot < this.every || this.#inFlight) return false;
    this.#sinceSnapshot = 0;
    this.#inFlight = true;
    return true;
  }

  /** The save finished (either way); a failed one is retried after the next `every` events. */
  settled(): void {
    this.#inFlight = false;
  }
}
