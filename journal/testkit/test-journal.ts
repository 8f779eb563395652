/**
 * `TestJournal`: a journal for tests that injects faults and lets a test await what was stored
 * (Akka's Persistence.TestKit). It wraps a real journal (the in-memory one by default) and, per rule,
 * fails, rejects or holds back the calls a predicate picks:
 *
 * ```ts
 * const journal = new TestJournal();
 * journal.failWrites({ persistenceId: 'orders' });                 // the write call rejects: onPersistFailure
 * journal.rejectWrites({ when: (event) => event.type === 'bad' });  // outcome 'rejected': onPersistRejected
 * const held = journal.holdWrites();  await held.reached;  held.release();
 * const stored = await journal.stored((event) => event.type === 'shipped');
 * journal.interceptWrites(async (writes, proceed) => { await somethingElse; return proceed(writes); });
 * ```
 *
 * A call may carry the writes of many actors (the persistence layer gathers those of one turn): a
 * fail or reject rule affects only the writes it matches; a hold holds the whole call, as a stuck group
 * commit would (hold replays to make one actor stuck on its own).
 *
 * Rules apply to every matching call until removed (`rule.remove()`, `clearRules()`) or, with
 * `times`, that many times. Events are matched decoded (JSON payloads parsed; binary ones as the
 * bytes). The sender-identity streams the delivery actors keep next to their events are never matched
 * unless a rule names them.
 */
import {
  type AsyncWriteJournal,
  type AtomicWrite,
  isQueryable,
  type JournalQueries,
  type PersistentRepr,
  SteadfastError,
  type WriteOutcome,
  type ReplayedEvent,
} from '../../src/persistence/spi.js';
import { InMemoryJournal } from '../memory/in-memory-journal.js';

/** Which calls a rule applies to: all of them, those of one persistenceId, those whose event matches, or both. */
export interface CallFilter {
  readonly persistenceId?: string;
  /** Tested against each decoded event of a write (the write matches when one does). */
  readonly when?: (event: unknown, repr: PersistentRepr) => boolean;
  /** Applies to this many matching calls, then the rule removes itself. Default: every call. */
  readonly times?: number;
}

export interface TestJournalRule {
  /** Matching calls so far. */
  readonly hits: number;
  remove(): void;
}

/** A rule that holds calls back until `release()`. */
export interface HeldCalls extends TestJournalRule {
  /** Resolves when the first call is held. */
  readonly reached: Promise<void>;
  /** Lets every held call (and every later one) go on; the rule is removed. */
  release(): void;
}

/** One replay call as the journal received it. */
export interface ReplayCall {
  readonly persistenceId: string;
  readonly fromSequenceNr: number;
  readonly toSequenceNr: number;
  readonly max: number;
}

/**
 * Stands in for the wrapped journal's write (Akka's custom journal interceptor): `proceed` hands the
 * writes on (to later interceptors, then the wrapped journal); not calling it fails, holds or answers
 * the call however the test wants.
 */
export type WriteInterceptor = (
  writes: readonly AtomicWrite[],
  proceed: (writes: readonly AtomicWrite[]) => Promise<readonly WriteOutcome[]>,
) => Promise<readonly WriteOutcome[]> | readonly WriteOutcome[];

/** Stands in for the wrapped journal's replay; `proceed` may be given a narrower range. */
export type ReplayInterceptor = (call: ReplayCall, proceed: (call?: Partial<ReplayCall>) => Promise<void>) => Promise<void>;

/** The error a `failWrites` / `failReplays` rule uses unless it is given one. */
export class TestJournalFault extends SteadfastError {
  constructor(message: string) {
    super('ERR_TEST_JOURNAL_FAULT', message);
  }
}

type Operation = 'write' | 'replay' | 'delete';

interface Rule extends TestJournalRule {
  readonly operation: Operation;
  readonly filter: CallFilter;
  /** What happens to a matching call. */
  readonly effect:
    | { kind: 'fail'; error: Error }
    | { kind: 'reject'; cause: Error }
    | { kind: 'hold'; gate: Promise<void>; reached: () => void }
    | { kind: 'intercept-writes'; interceptor: WriteInterceptor }
    | { kind: 'intercept-replays'; interceptor: ReplayInterceptor };
  hits: number;
}

interface Waiter {
  readonly match: (event: unknown) => boolean;
  readonly resolve: (event: unknown) => void;
}

const IDENTITY_STREAMS = '@steadfast/';

export function decodeEvent(repr: PersistentRepr): unknown {
  if (typeof repr.payload !== 'string') return repr.payload;
  try {
    return JSON.parse(repr.payload) as unknown;
  } catch {
    return repr.payload;
  }
}

export class TestJournal implements AsyncWriteJournal {
  readonly calls = { writeMessages: 0, replayMessages: 0, readHighestSequenceNr: 0, deleteMessagesTo: 0, close: 0 };
  /** Every write call as handed to the journal (before any rule). */
  readonly writes: (readonly AtomicWrite[])[] = [];
  /** Every replay call, in order. */
  readonly replays: ReplayCall[] = [];
  #rules: Rule[] = [];
  #waiters: Waiter[] = [];
  #deleteWaiters: ((toSequenceNr: number) => void)[] = [];

  /** The wrapped journal's queries, when it has them (`readJournalOf`); rules do not apply to them. */
  readonly queries?: () => JournalQueries;

  constructor(readonly inner: AsyncWriteJournal = new InMemoryJournal()) {
    if (isQueryable(inner)) this.queries = () => inner.queries();
  }

  get volatile(): boolean | undefined {
    return this.inner.volatile;
  }

  // --- rules --------------------------------------------------------------------------------------

  /** Matching write calls reject (as when the database is away): the actor's `onPersistFailure`, it stops. */
  failWrites(filter: CallFilter = {}, error: Error = new TestJournalFault('write failed (TestJournal rule)')): TestJournalRule {
    return this.#add('write', filter, { kind: 'fail', error });
  }

  /** Matching writes get the outcome `rejected` (nothing stored): the actor's `onPersistRejected`, it goes on. */
  rejectWrites(filter: CallFilter = {}, cause: Error = new TestJournalFault('write rejected (TestJournal rule)')): TestJournalRule {
    return this.#add('write', filter, { kind: 'reject', cause });
  }

  /** Matching write calls wait until `release()`. */
  holdWrites(filter: CallFilter = {}): HeldCalls {
    return this.#hold('write', filter);
  }

  /** Matching replays reject (recovery fails). */
  failReplays(filter: CallFilter = {}, error: Error = new TestJournalFault('replay failed (TestJournal rule)')): TestJournalRule {
    return this.#add('replay', filter, { kind: 'fail', error });
  }

  /** Matching replays wait until `release()`. */
  holdReplays(filter: CallFilter = {}): HeldCalls {
    return this.#hold('replay', filter);
  }

  /** Matching deletions reject. */
  failDeletes(filter: CallFilter = {}, error: Error = new TestJournalFault('delete failed (TestJournal rule)')): TestJournalRule {
    return this.#add('delete', filter, { kind: 'fail', error });
  }

  /** Matching write calls go through `interceptor` (for faults the rules above do not express). */
  interceptWrites(interceptor: WriteInterceptor, filter: CallFilter = {}): TestJournalRule {
    return this.#add('write', filter, { kind: 'intercept-writes', interceptor });
  }

  /** Matching replays go through `interceptor`. */
  interceptReplays(interceptor: ReplayInterceptor, filter: CallFilter = {}): TestJournalRule {
    return this.#add('replay', filter, { kind: 'intercept-replays', interceptor });
  }

  clearRules(): void {
    for (const rule of [...this.#rules]) rule.remove();
  }

  // --- observing ----------------------------------------------------------------------------------

  /** Resolves with the next stored event (decoded) that `match` accepts. */
  stored<T = unknown>(match: (event: unknown) => boolean): Promise<T> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve: resolve as (event: unknown) => void }));
  }

  /** Resolves with `toSequenceNr` of the next finished deletion. */
  deleted(): Promise<number> {
    return new Promise((resolve) => this.#deleteWaiters.push(resolve));
  }

  /** The stored events of `persistenceId`, decoded, read through the wrapped journal (no rule applies). */
  async events(persistenceId: string): Promise<unknown[]> {
    const events: unknown[] = [];
    await this.inner.replayMessages(persistenceId, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, (repr) => {
      events.push(decodeEvent(repr));
    });
    return events;
  }

  // --- the SPI ------------------------------------------------------------------------------------

  start(): Promise<void> {
    return this.inner.start?.() ?? Promise.resolve();
  }

  ping(): Promise<void> {
    return this.inner.ping?.() ?? Promise.resolve();
  }

  async writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    this.calls.writeMessages++;
    this.writes.push([...writes]);
    const rejected = new Map<AtomicWrite, WriteOutcome>();
    let write = (writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> => this.inner.writeMessages(writes);
    for (const rule of this.#matching('write', (rule) => writes.some((write) => this.#writeMatches(rule.filter, write)))) {
      const effect = rule.effect;
      if (effect.kind === 'hold') await this.#wait(effect);
      else if (effect.kind === 'fail') {
        // A call carries the writes of every actor that persisted in one turn: a rule for some of them
        // fails those (a 'failed' outcome each, onPersistFailure as for a failed call), not their neighbours.
        const matching = writes.filter((write) => this.#writeMatches(rule.filter, write));
        if (matching.length === writes.length) throw effect.error;
        for (const write of matching) rejected.set(write, { status: 'failed', cause: effect.error });
      } else if (effect.kind === 'reject') {
        for (const write of writes) if (this.#writeMatches(rule.filter, write)) rejected.set(write, { status: 'rejected', cause: effect.cause });
      } else if (effect.kind === 'intercept-writes') {
        const proceed = write;
        write = async (writes) => effect.interceptor(writes, proceed);
      }
    }
    const passing = writes.filter((write) => !rejected.has(write));
    const stored = passing.length > 0 ? await write(passing) : [];
    let next = 0;
    const outcomes = writes.map((write): WriteOutcome => rejected.get(write) ?? stored[next++]!);
    writes.forEach((write, i) => {
      if (outcomes[i]!.status === 'ok') for (const repr of write.events) this.#notify(repr);
    });
    return outcomes;
  }

  async replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    this.calls.replayMessages++;
    const call: ReplayCall = { persistenceId, fromSequenceNr, toSequenceNr, max };
    this.replays.push(call);
    let replay = (call: ReplayCall): Promise<void> => this.inner.replayMessages(call.persistenceId, call.fromSequenceNr, call.toSequenceNr, call.max, onMessage);
    for (const rule of this.#matching('replay', (rule) => this.#idMatches(rule.filter, persistenceId))) {
      const effect = rule.effect;
      if (effect.kind === 'hold') await this.#wait(effect);
      else if (effect.kind === 'fail') throw effect.error;
      else if (effect.kind === 'intercept-replays') {
        const proceed = replay;
        replay = (call) => effect.interceptor(call, (narrower) => proceed({ ...call, ...narrower }));
      }
    }
    await replay(call);
  }

  readHighestSequenceNr(persistenceId: string, fromSequenceNr: number): Promise<number> {
    this.calls.readHighestSequenceNr++;
    return this.inner.readHighestSequenceNr(persistenceId, fromSequenceNr);
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    this.calls.deleteMessagesTo++;
    for (const rule of this.#matching('delete', (rule) => this.#idMatches(rule.filter, persistenceId))) {
      if (rule.effect.kind === 'hold') await this.#wait(rule.effect);
      else if (rule.effect.kind === 'fail') throw rule.effect.error;
    }
    await this.inner.deleteMessagesTo(persistenceId, toSequenceNr);
    const waiters = this.#deleteWaiters;
    this.#deleteWaiters = [];
    for (const resolve of waiters) resolve(toSequenceNr);
  }

  async close(): Promise<void> {
    this.calls.close++;
    await this.inner.close();
  }

  // --- internals ----------------------------------------------------------------------------------

  #add(operation: Operation, filter: CallFilter, effect: Rule['effect']): Rule {
    const rule: Rule = {
      operation,
      filter,
      effect,
      hits: 0,
      remove: () => {
        this.#rules = this.#rules.filter((each) => each !== rule);
      },
    };
    this.#rules.push(rule);
    return rule;
  }

  #hold(operation: Operation, filter: CallFilter): HeldCalls {
    let open!: () => void;
    let reached!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const rule = this.#add(operation, filter, { kind: 'hold', gate, reached });
    return {
      get hits() {
        return rule.hits;
      },
      reached: reachedPromise,
      remove: rule.remove,
      release: () => {
        rule.remove();
        open();
      },
    };
  }

  /** The rules a call matches now (counted, and removed once their `times` are used up). */
  #matching(operation: Operation, matches: (rule: Rule) => boolean): Rule[] {
    const hit = this.#rules.filter((rule) => rule.operation === operation && matches(rule));
    for (const rule of hit) {
      rule.hits++;
      if (rule.filter.times !== undefined && rule.hits >= rule.filter.times) rule.remove();
    }
    return hit;
  }

  #wait(effect: { gate: Promise<void>; reached: () => void }): Promise<void> {
    effect.reached();
    return effect.gate;
  }

  #idMatches(filter: CallFilter, persistenceId: string): boolean {
    if (filter.persistenceId !== undefined) return filter.persistenceId === persistenceId;
    return !persistenceId.startsWith(IDENTITY_STREAMS);
  }

  #writeMatches(filter: CallFilter, write: AtomicWrite): boolean {
    if (!this.#idMatches(filter, write.persistenceId)) return false;
    const when = filter.when;
    return when === undefined || write.events.some((repr) => when(decodeEvent(repr), repr));
  }

  #notify(repr: PersistentRepr): void {
    if (this.#waiters.length === 0) return;
    const event = decodeEvent(repr);
    const matched = this.#waiters.filter((waiter) => waiter.match(event));
    if (matched.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => !matched.includes(waiter));
    for (const waiter of matched) waiter.resolve(event);
  }
}
