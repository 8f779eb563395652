/**
 * "Snapshot every N events, keep the newest few" (Akka Typed's
 * `RetentionCriteria.snapshotEvery(n, keepN).withDeleteEventsOnSnapshot`), for actors that take their
 * own snapshots: the outbox and deduplicating entities. The actor counts what it applied and asks
 * whether a snapshot is due; the next one is not taken while one is being saved. When a save
 * succeeds, the policy says what may go: snapshots older than the `keep`-th newest, and (when
 * enabled) the events no kept snapshot needs any more.
 *
 * A snapshot may need events below its own sequence number (the outbox keeps the payloads of
 * unconfirmed deliveries in their `accepted` events and only references them): the actor reports,
 * with each snapshot, the lowest sequence number it still needs (`needsFrom`), and events are deleted
 * only below the lowest `needsFrom` of every kept snapshot. Deletion is a prefix, idempotent and
 * retried with the next snapshot, so a crash or a failed deletion at any point leaves at worst more
 * than needed, never less.
 */
import { InvalidOptionError } from '../actor/errors.js';
import { DeleteMessagesFailure, DeleteMessagesSuccess, DeleteSnapshotsFailure, SaveSnapshotFailure, SaveSnapshotSuccess } from './protocol.js';
import { SnapshotSelectionCriteria } from './snapshot-selection-criteria.js';

/** What the policy needs of its actor to carry out a retention step (a PersistentActor has it all). */
export interface RetentionHost {
  deleteMessages(toSequenceNr: number): void;
  deleteSnapshots(criteria: SnapshotSelectionCriteria): void;
  readonly log: { warn(fields: object, message: string): void };
}

export interface SnapshotPolicyOptions {
  /** Events between snapshots; 0 means never. */
  readonly every: number;
  /** Snapshots kept (the newest ones); older ones are deleted once a newer one is saved. Default 2. */
  readonly keep?: number;
  /** Also delete the events every kept snapshot covers. Default false. */
  readonly deleteEvents?: boolean;
}

/** What a successful save allows to delete (either may be absent). */
export interface RetentionStep {
  /** Delete snapshots with a sequence number up to this one. */
  readonly deleteSnapshotsTo?: number;
  /** Delete events up to this sequence number. */
  readonly deleteEventsTo?: number;
}

interface KeptSnapshot {
  readonly sequenceNr: number;
  readonly needsFrom: number;
}

export class SnapshotPolicy {
  readonly every: number;
  readonly keep: number;
  readonly deleteEvents: boolean;
  #sinceSnapshot = 0;
  #inFlight = false;
  /** Entries of the last snapshot this incarnation took (undefined before the first). */
  #entriesAtLast: number | undefined;
  /** What each save under way will need, by sequence number (known when it is taken). */
  readonly #saving = new Map<number, number>();
  /** Known stored snapshots, oldest first: the one recovered from, then this incarnation's. */
  #kept: KeptSnapshot[] = [];
  #eventsDeletedTo = 0;

  constructor(options: SnapshotPolicyOptions | number) {
    const { every, keep = 2, deleteEvents = false } = typeof options === 'number' ? { every: options } : options;
    if (!Number.isSafeInteger(every) || every < 0) throw new InvalidOptionError(`snapshotEvery must be an integer >= 0, got ${String(every)}`);
    if (!Number.isSafeInteger(keep) || keep < 1) throw new InvalidOptionError(`keepSnapshots must be an integer >= 1, got ${String(keep)}`);
    if (typeof deleteEvents !== 'boolean') throw new InvalidOptionError(`deleteEventsOnSnapshot must be a boolean, got ${String(deleteEvents)}`);
    this.every = every;
    this.keep = keep;
    this.deleteEvents = deleteEvents;
  }

  /** Counts one applied event (live or replayed: replayed ones since the last snapshot count too). */
  applied(): void {
    this.#sinceSnapshot++;
  }

  /**
   * True when a snapshot should be taken now; it then counts as being saved until `settled()`.
   * `entries` is what the snapshot would hold (the outbox: deliveries in flight). A snapshot is due
   * after `every` events, and no sooner than after as many events as it holds entries (or as the last
   * one held, when that is fewer): its cost, which grows with the entries, then stays at about one entry
   * walked per event, whatever the backlog (the rule before this one walked up to 4 per event between N
   * and 4 N entries and 2 past that; with snapshots all but off, an HTTP burst of 20 000 deliveries took
   * 12 µs less CPU per message: bench/README.md 2026-12-07).
   * A backlog that only grows is snapshotted each time it has doubled; one that shrinks as soon as the
   * smaller snapshot is due; the first of an incarnation after half as many events as it holds. A
   * recovery then replays at most about as many events as the snapshot holds entries (the same order of
   * work as loading it).
   */
  takeIfDue(entries = 0): boolean {
    if (this.every === 0 || this.#inFlight) return false;
    if (this.#sinceSnapshot < this.every) return false;
    const threshold = this.#entriesAtLast === undefined ? entries / 2 : Math.min(entries, this.#entriesAtLast);
    if (this.#sinceSnapshot < threshold) return false;
    this.#sinceSnapshot = 0;
    this.#inFlight = true;
    this.#entriesAtLast = entries;
    return true;
  }

  /**
   * The snapshot about to be saved under `sequenceNr` needs the events from `needsFrom` on (default:
   * none, `sequenceNr + 1`).
   */
  saving(sequenceNr: number, needsFrom = sequenceNr + 1): void {
    this.#saving.set(sequenceNr, Math.min(needsFrom, sequenceNr + 1));
  }

  /** Recovery started from the snapshot at `sequenceNr`, which needs the events from `needsFrom` on. */
  recovered(sequenceNr: number, needsFrom = sequenceNr + 1): void {
    this.#kept = [{ sequenceNr, needsFrom: Math.min(needsFrom, sequenceNr + 1) }];
  }

  /** The save failed: it is retried after the next `every` events; nothing may be deleted for it. */
  failed(sequenceNr: number): void {
    this.#inFlight = false;
    this.#saving.delete(sequenceNr);
  }

  /** The save at `sequenceNr` succeeded: what may be deleted now. */
  succeeded(sequenceNr: number): RetentionStep {
    this.#inFlight = false;
    const needsFrom = this.#saving.get(sequenceNr) ?? sequenceNr + 1;
    this.#saving.delete(sequenceNr);
    // Saved again under the same number (no event in between): the store replaced it.
    this.#kept = this.#kept.filter((kept) => kept.sequenceNr !== sequenceNr);
    this.#kept.push({ sequenceNr, needsFrom });
    this.#kept.sort((a, b) => a.sequenceNr - b.sequenceNr);
    let deleteSnapshotsTo: number | undefined;
    if (this.#kept.length > this.keep) {
      this.#kept = this.#kept.slice(this.#kept.length - this.keep);
      deleteSnapshotsTo = this.#kept[0]!.sequenceNr - 1;
    }
    let deleteEventsTo: number | undefined;
    if (this.deleteEvents) {
      const floor = Math.min(...this.#kept.map((kept) => kept.needsFrom)) - 1;
      if (floor > this.#eventsDeletedTo) deleteEventsTo = floor;
    }
    return { ...(deleteSnapshotsTo !== undefined ? { deleteSnapshotsTo } : {}), ...(deleteEventsTo !== undefined ? { deleteEventsTo } : {}) };
  }

  /**
   * Handles the persistence replies retention is about: a saved snapshot starts its deletions, a
   * failed save or deletion is logged (`what` names the actor's kind) and retried with the next
   * snapshot. Returns false for any other message.
   */
  handleReply(reply: unknown, host: RetentionHost, what: string): boolean {
    if (reply instanceof SaveSnapshotSuccess) {
      const { deleteEventsTo, deleteSnapshotsTo } = this.succeeded(reply.metadata.sequenceNr);
      if (deleteEventsTo !== undefined) host.deleteMessages(deleteEventsTo);
      if (deleteSnapshotsTo !== undefined && deleteSnapshotsTo >= 1) host.deleteSnapshots(new SnapshotSelectionCriteria({ maxSequenceNr: deleteSnapshotsTo }));
      return true;
    }
    if (reply instanceof SaveSnapshotFailure) {
      this.failed(reply.metadata.sequenceNr);
      host.log.warn({ err: reply.cause }, `${what} snapshot failed; it is retried after the next events`);
      return true;
    }
    if (reply instanceof DeleteMessagesSuccess) {
      this.eventsDeleted(reply.toSequenceNr);
      return true;
    }
    if (reply instanceof DeleteMessagesFailure || reply instanceof DeleteSnapshotsFailure) {
      host.log.warn({ err: reply.cause }, `deleting what a ${what} snapshot covers failed; retried after the next snapshot`);
      return true;
    }
    return false;
  }

  /** Events up to `toSequenceNr` are gone (DeleteMessagesSuccess). */
  eventsDeleted(toSequenceNr: number): void {
    this.#eventsDeletedTo = Math.max(this.#eventsDeletedTo, toSequenceNr);
  }
}
