import {
  type AsyncWriteJournal,
  type AtomicWrite,
  type JournalQueries,
  type OffsetStore,
  type OffsetStoringJournal,
  type PersistentRepr,
  type QueryableJournal,
  WRITE_OK,
  type WriteOutcome,
  type ReplayedEvent,
} from '../../src/persistence/spi.js';
import type { Logger } from 'pino';
import { defaultLogger } from './default-logger.js';
import { InMemoryEventLog } from './in-memory-event-log.js';
import { InMemoryOffsetStore } from './in-memory-offset-store.js';
import { checkAtomicWrite } from './write-checks.js';

export interface InMemoryJournalOptions {
  /** Where the "nothing survives a restart" warning goes; a default pino logger otherwise. */
  logger?: Logger;
}

/**
 * One stream: `events[i]` holds sequence number `first + i`. Deleting a prefix replaces the array
 * (rather than splicing it) so a replay that is iterating the old array is not disturbed.
 */
interface Stream {
  events: PersistentRepr[];
  /** The global offset of each event (queries), parallel to `events`. */
  offsets: number[];
  first: number;
  highest: number;
}

/** Synchronous stretches of a replay are cut after this many events so timers and I/O still run. */
const REPLAY_SLICE = 8192;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The in-memory journal: the bare library's default and the journal for tests. Events are kept by
 * reference (PersistentRepr is immutable by contract), so a write costs one array push per event and
 * a replay hands out the stored objects without copying.
 */
export class InMemoryJournal implements AsyncWriteJournal, QueryableJournal, OffsetStoringJournal {
  /** Nothing survives the process (see AsyncWriteJournal.volatile). */
  readonly volatile: boolean = true;
  readonly #streams = new Map<string, Stream>();
  readonly #offsets = new InMemoryOffsetStore();
  readonly #log = new InMemoryEventLog(
    (event) => event.sequenceNr < (this.#streams.get(event.persistenceId)?.first ?? 1),
    (persistenceId, from) => {
      const stream = this.#streams.get(persistenceId);
      return stream === undefined ? undefined : { events: stream.events, offsets: stream.offsets, start: Math.max(0, from - stream.first) };
    },
    (persistenceId) => this.#streams.get(persistenceId)?.highest ?? 0,
  );
  readonly #logger: Logger | undefined;
  #warned = false;

  constructor(options: InMemoryJournalOptions = {}) {
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    if (this.#warned) return;
    this.#warned = true;
    (this.#logger ?? defaultLogger()).warn('steadfast is using the in-memory journal: persisted events do not survive a restart of this process');
  }

  async ping(): Promise<void> {}

  writeMessages(writes: readonly AtomicWrite[]): Promise<readonly WriteOutcome[]> {
    const outcomes: WriteOutcome[] = new Array<WriteOutcome>(writes.length);
    for (let i = 0; i < writes.length; i++) outcomes[i] = this.#writeOne(writes[i]!);
    this.#log.written();
    return Promise.resolve(outcomes);
  }

  #writeOne(write: AtomicWrite): WriteOutcome {
    const stream = this.#streams.get(write.persistenceId);
    if (stream === undefined) return this.#startStream(write);
    const problem = checkAtomicWrite(write, stream.highest);
    if (problem) return problem;
    for (const event of write.events) {
      stream.events.push(event);
      stream.offsets.push(this.#log.append(event));
    }
    stream.highest += write.events.length;
    return WRITE_OK;
  }

  /**
   * The first write of a stream this journal has never held may start past 1. Only one thing leads
   * there: the actor recovered from a snapshot that outlived an earlier process's in-memory events
   * (the bare library's default pairs this journal with the local-file snapshot store). Refusing the
   * write would stop that actor on every restart; Akka.NET's MemoryJournal accepts it too. Within the
   * stream, writes must continue it exactly as before.
   */
  #startStream(write: AtomicWrite): WriteOutcome {
    const first = write.events[0]?.sequenceNr ?? 1;
    const problem = checkAtomicWrite(write, Number.isSafeInteger(first) && first > 1 ? first - 1 : 0);
    if (problem) return problem;
    if (write.events.length === 0) return WRITE_OK;
    if (first > 1) {
      (this.#logger ?? defaultLogger()).warn(
        { persistenceId: write.persistenceId, sequenceNr: first },
        `"${write.persistenceId}" continues at ${first}: its earlier events are not in this in-memory journal (lost with an earlier process; a snapshot covers them)`,
      );
    }
    const offsets = write.events.map((event) => this.#log.append(event));
    this.#streams.set(write.persistenceId, { events: write.events.slice(), offsets, first, highest: first + write.events.length - 1 });
    return WRITE_OK;
  }

  async replayMessages(persistenceId: string, fromSequenceNr: number, toSequenceNr: number, max: number, onMessage: ReplayedEvent): Promise<void> {
    const stream = this.#streams.get(persistenceId);
    if (stream === undefined || max <= 0) return;
    // Captured once: events written during the replay are not part of it, and a concurrent delete
    // swaps the array instead of shifting this one.
    const { events, first } = stream;
    const from = Math.max(fromSequenceNr, first);
    const to = Math.min(toSequenceNr, first + events.length - 1);
    if (from > to) return;
    const startIndex = from - first;
    const endIndex = Math.min(to - first, startIndex + Math.min(max, Number.MAX_SAFE_INTEGER) - 1);
    let sinceYield = 0;
    for (let i = startIndex; i <= endIndex; i++) {
      const pending = onMessage(events[i]!);
      if (pending !== undefined) {
        await pending;
        sinceYield = 0;
      } else if (++sinceYield >= REPLAY_SLICE) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }

  async readHighestSequenceNr(persistenceId: string, _fromSequenceNr: number): Promise<number> {
    return this.#streams.get(persistenceId)?.highest ?? 0;
  }

  async deleteMessagesTo(persistenceId: string, toSequenceNr: number): Promise<void> {
    const stream = this.#streams.get(persistenceId);
    if (stream === undefined || toSequenceNr < stream.first) return;
    const upTo = Math.min(toSequenceNr, stream.highest);
    const removed = Math.min(upTo - stream.first + 1, stream.events.length);
    stream.events = stream.events.slice(upTo - stream.first + 1);
    stream.offsets = stream.offsets.slice(upTo - stream.first + 1);
    stream.first = upTo + 1;
    this.#log.deleted(removed);
  }

  /** The read side (`readJournalOf(system)`): offsets in write order, live queries woken by each write. */
  queries(): JournalQueries {
    return this.#log;
  }

  /** Projection offsets, kept with the events (and, like them, only for the life of the process). */
  offsetStore(): OffsetStore {
    return this.#offsets;
  }

  /** Keeps every stream: a second ActorSystem may start on this same instance. */
  async close(): Promise<void> {}
}

/** The in-memory journal. Nothing survives the process; it warns once about that when started. */
export function inMemoryJournal(options: InMemoryJournalOptions = {}): InMemoryJournal {
  return new InMemoryJournal(options);
}
