import type { AtomicWrite, PersistentRepr } from './persistent-repr.js';

/**
 * The outcome of one AtomicWrite inside a `writeMessages` call.
 * - `ok`: stored.
 * - `rejected`: the journal refused these events (e.g. they cannot be stored in this format) and
 *   nothing of them was stored; the actor is told through `onPersistRejected` and goes on.
 * - `failed`: the events could not be stored for a reason that says the store or the stream is not
 *   healthy (e.g. another writer already holds this sequence number); the actor is told through
 *   `onPersistFailure` and stops.
 */
export type WriteOutcome = { readonly status: 'ok' } | { readonly status: 'rejected'; readonly cause: Error } | { readonly status: 'failed'; readonly cause: Error };

export const WRITE_OK: WriteOutcome = Object.freeze({ status: 'ok' });

/**
 * Why a store cannot do what was asked, in words an operator acts on: `disk_full` (free space),
 * `read_only` (the database or file refuses writes), `unreachable` (connection lost, server down,
 * file cannot be opened), `corrupt` (the data cannot be read: restore from a backup). A journal names
 * the reasons of its own errors through `classifyError`; the core and the service never look at a
 * driver's error codes themselves.
 */
export type StoreFailureReason = 'disk_full' | 'read_only' | 'unreachable' | 'corrupt';

/** Receives one replayed event; a returned promise holds the replay until it settles (back-pressure). */
export type ReplayedEvent = (event: PersistentRepr) => void | Promise<void>;

/**
 * The journal plugin SPI (Akka's AsyncWriteJournal). Implement this to store events anywhere.
 *
 * Contract, checked by `journalSpec` in `steadfast/testkit`:
 * - `writeMessages` stores each AtomicWrite atomically and returns one outcome per write, in order.
 *   Writes of different persistenceIds in one call are independent: one write's conflict must not fail
 *   the others. If the call itself rejects (e.g. the connection is gone) every write in it failed and
 *   none of them may be stored partially. Writes of one persistenceId are issued in sequence-number
 *   order and must be stored in that order. A plugin is free (and encouraged) to gather the writes of
 *   concurrent calls into one transaction (group commit).
 * - `replayMessages` calls `onMessage` for every stored event of `persistenceId` with
 *   `fromSequenceNr <= sequenceNr <= toSequenceNr`, in ascending order, at most `max` of them, and
 *   resolves after the last one. It waits for a promise returned by `onMessage` before going on, so a
 *   slow consumer is never flooded; it should read in pages, so a long stream is never held in memory.
 * - `readHighestSequenceNr` returns the highest sequence number ever stored for `persistenceId`
 *   (0 if none), also after every event was deleted. `fromSequenceNr` is a hint: the caller knows that
 *   nothing below it matters.
 * - `deleteMessagesTo` removes every event up to and including `toSequenceNr`; the highest sequence
 *   number stays readable.
 * - `close` releases connections and files; a closed journal is not used again, except that the
 *   in-memory journal keeps its contents for a second system (tests rely on that).
 * - `acquireLease` (optional): see `Lease`. A journal that offers it gives every process using the same
 *   store (for PostgreSQL: the same database and schema) exclusive, named leases, so that callers can
 *   elect one owner of something (the service's outbox, an entity partition) without loading a database
 *   driver themselves: `Persistence.get(system).journal.acquireLease?.(name)`. It tries once and does not
 *   wait: it resolves with the lease when the name was free, with `undefined` when anyone holds it (another
 *   process, or this same journal), and rejects when the store cannot be asked (retry later). The plugin
 *   namespaces the name by its store (schema), so equal names in different schemas never collide. A
 *   lease lasts until `release()`, until `close()` of the journal (which releases it), or until it is
 *   lost. Journals without it (in-memory, SQLite: one process per store anyway) leave it undefined.
 */
export interface AsyncWriteJournal {
  /**
   * True when stored events do not outlive the process (the in-memory journal) while a snapshot store
   * may: an actor then keeps nothing a snapshot needs only in the journal (the outbox inlines payloads).
   */
  readonly volatile?: boolean;
  writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]>;
  replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void>;
  readHighestSequenceNr(persistenceId: string, fromSequenceNr: number): Promise<number>;
  /**
   * Optional: `replayMessages`, then resolves with what `readHighestSequenceNr` would answer, for a
   * plugin that can fold both into fewer round trips (a recovery needs both, one after the other). The
   * answer may be read at the start of the replay: the caller takes the larger of it and the last
   * replayed number.
   */
  replayForRecovery?(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<number>;
  deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void>;
  /** Optional readiness step (migrations, opening files); the system awaits it before first use. */
  start?(): Promise<void>;
  /** Cheap liveness probe for health endpoints; resolves when the store answers. */
  ping?(): Promise<void>;
  /**
   * Optional: the reason behind an error this journal raised (also when it is the `cause` of another),
   * or undefined when it cannot tell. Health reports and API answers name it.
   */
  classifyError?(error: unknown): StoreFailureReason | undefined;
  /**
   * Optional: a cheap check, storing nothing, that a write would not be refused now (e.g. the
   * database is not read-only, there is room for more pages); rejects with the error a write would
   * meet. A failed write is the real evidence; this tells when it may be worth trying again.
   */
  probeWrite?(): Promise<void>;
  /** Optional exclusive, named leases across processes (see above and `Lease`). */
  acquireLease?(name: string): Promise<Lease | undefined>;
  /**
   * Optional, with `acquireLease`: which of `names` anyone holds right now (this journal included),
   * asked without taking any — counting the holders of a set of leases by trying each one would hold
   * the free ones for a moment, and another asker would then count those as held.
   */
  heldLeases?(names: readonly string[]): Promise<ReadonlySet<string>>;
  close(): Promise<void>;
}

/**
 * An exclusive, named lease held by one process through its journal (PostgreSQL: a session-level
 * advisory lock on a connection of its own). While `held`, no other holder of the same name exists in
 * the store; the lease ends when the holder releases it, when its journal closes, or when the process
 * dies (the store frees it with the session).
 *
 * It can also be lost while the process lives (the database restarted, the network broke, an operator
 * ended the session): then `lost` resolves with the reason, and the holder must stop acting as the
 * owner at once — another process may own the name a moment later. A lease is a notice, not a fence:
 * a stale owner's journal writes are refused by the sequence-number check, which is the second line of
 * defence. `lost` never resolves after `release()` (or the journal's `close()`), and never rejects.
 */
export interface Lease {
  readonly name: string;
  /** True until released or lost. */
  readonly held: boolean;
  /** Resolves with the reason once the lease is lost without being released. */
  readonly lost: Promise<Error>;
  /** Gives the lease up; idempotent, and harmless after a loss. */
  release(): Promise<void>;
}
