/**
 * One reader of new events per read journal, shared by every live query: it reads what was written
 * after its position (woken by the journal's signal, or on the journal's poll interval) and tells each
 * live query whose persistenceId or tag it saw. A query then reads its own page; a query nothing new
 * concerns costs nothing. So the statements per second grow with the events written, not with the number
 * of live queries.
 *
 * A subscription is made before its query's first read, and a tailer that starts wakes every subscriber
 * once, so no event can fall between a query's last read and the tailer's position. A failed read wakes
 * every subscriber too: their own reads then fail, and the error reaches the consumers.
 */
import type { JournalQueries } from '../persistence/journal-queries.js';
import type { StatementThrottle } from './statement-throttle.js';

/** What a live query waits for: one stream, one tag, or any event. */
export type TailFilter = { readonly persistenceId: string } | { readonly tag: string } | 'any';

/**
 * Called on a new event of the filter, or with `startedAt` when the tailer has (re)read its position:
 * a subscriber whose own read began after that (`Tailer.positionKnownSince`) has seen all it would say.
 */
type Listener = (startedAt?: number) => void;

export class Tailer {
  readonly #byId = new Map<string, Set<Listener>>();
  readonly #byTag = new Map<string, Set<Listener>>();
  readonly #any = new Set<Listener>();
  #subscribers = 0;
  #position: number | undefined;
  /** Counts the times the position was read; what `positionKnownSince` hands out. */
  #epoch = 0;
  #running = false;
  #signalled = false;
  #wake: (() => void) | undefined;
  #unsubscribeJournal: (() => void) | undefined;

  constructor(
    private readonly queries: JournalQueries,
    private readonly throttle: StatementThrottle,
    private readonly pageSize: number,
  ) {}

  /**
   * Which reading of the tailer's position is in force now, or undefined while it is being read. A
   * query's read that begins while it is defined sees every event at or below that position, so the
   * wake-up the tailer sends with that same reading tells it nothing (a statement that begins later sees
   * what committed before). With thousands of live queries starting at once, this spares each a second
   * read.
   */
  get positionKnownSince(): number | undefined {
    return this.#position === undefined ? undefined : this.#epoch;
  }

  /** Calls `listener` whenever an event matching `filter` was seen; returns the function that ends it. */
  subscribe(filter: TailFilter, listener: Listener): () => void {
    const set = filter === 'any' ? this.#any : 'tag' in filter ? setIn(this.#byTag, filter.tag) : setIn(this.#byId, filter.persistenceId);
    const subscription: Listener = (startedAt) => listener(startedAt);
    set.add(subscription);
    this.#subscribers++;
    if (!this.#running) void this.#run();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      set.delete(subscription);
      if (filter !== 'any' && set.size === 0) 'tag' in filter ? this.#byTag.delete(filter.tag) : this.#byId.delete(filter.persistenceId);
      this.#subscribers--;
      if (this.#subscribers === 0) this.#signal();
    };
  }

  async #run(): Promise<void> {
    this.#running = true;
    this.#unsubscribeJournal = this.queries.onEventsWritten(() => this.#signal());
    try {
      this.#position = undefined;
      while (this.#subscribers > 0) {
        try {
          if (this.#position === undefined) {
            this.#position = await this.throttle.run(() => this.queries.liveStartOffset?.() ?? this.queries.highestOffset());
            // Anything between a subscriber's last read and this position would otherwise go unnoticed.
            this.#notifyAll(++this.#epoch);
          }
          const rows = await this.throttle.run(() => this.queries.allEvents(this.#position!, Number.MAX_SAFE_INTEGER, this.pageSize));
          for (const row of rows) {
            this.#position = row.offset;
            this.#byId.get(row.persistenceId)?.forEach(call);
            for (const tag of row.tags) this.#byTag.get(tag)?.forEach(call);
            this.#any.forEach(call);
          }
          if (rows.length === this.pageSize) continue;
        } catch {
          this.#position = undefined;
          this.#notifyAll();
        }
        await this.#nextSignal();
      }
    } finally {
      this.#unsubscribeJournal?.();
      this.#running = false;
    }
    // A subscriber that came while the loop was ending must not be left without a tailer.
    if (this.#subscribers > 0) void this.#run();
  }

  #notifyAll(startedAt?: number): void {
    const wake = (listener: Listener) => listener(startedAt);
    for (const set of this.#byId.values()) set.forEach(wake);
    for (const set of this.#byTag.values()) set.forEach(wake);
    this.#any.forEach(wake);
  }

  #nextSignal(): Promise<void> {
    if (this.#signalled) {
      this.#signalled = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#signal(), this.queries.pollIntervalMs);
      this.#wake = () => {
        clearTimeout(timer);
        this.#signalled = false;
        resolve();
      };
    });
  }

  #signal(): void {
    this.#signalled = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function setIn(map: Map<string, Set<Listener>>, key: string): Set<Listener> {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function call(listener: Listener): void {
  listener();
}
