import { InvalidOptionError } from '../actor/errors.js';
import type { Manifest } from './serialization.js';

/**
 * An event with tags, for queries by tag: `persist(new Tagged(event, ['orders']), handler)` stores
 * `event` with the tags (the handler receives the Tagged wrapper, as in Akka).
 */
export class Tagged<Event = unknown> {
  readonly tags: readonly string[];

  constructor(
    readonly payload: Event,
    tags: readonly string[],
  ) {
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag.length === 0)) {
      throw new InvalidOptionError('Tagged needs an array of non-empty strings as tags');
    }
    this.tags = Object.freeze([...new Set(tags)]);
  }
}

/**
 * Converts between the events an actor handles and what is stored (Akka's event adapters):
 * `toJournal` may tag or reshape an event before it is written; `fromJournal` upcasts old versions
 * on replay (it sees the stored manifest, so it knows the schema version) and may split one stored
 * event into several or drop it (return an empty array).
 */
export interface EventAdapter {
  toJournal?(event: unknown): unknown;
  fromJournal?(event: unknown, manifest: Manifest): unknown | readonly unknown[];
}

const NO_TAGS: readonly string[] = Object.freeze([]);

export class EventAdapters {
  constructor(private readonly adapters: readonly EventAdapter[]) {}

  get isEmpty(): boolean {
    return this.adapters.length === 0;
  }

  /** Applies every adapter's toJournal; returns the event to store and its tags. */
  toJournal(event: unknown): { payload: unknown; tags: readonly string[] } {
    // The common case (no adapters, no tags) allocates no tag set.
    if (this.adapters.length === 0 && !(event instanceof Tagged)) return { payload: event, tags: NO_TAGS };
    let current = event;
    for (const adapter of this.adapters) if (adapter.toJournal) current = adapter.toJournal(current);
    const tags = new Set<string>();
    // Tags may come from the caller and from adapters; nested Tagged wrappers merge.
    while (current instanceof Tagged) {
      for (const tag of current.tags) tags.add(tag);
      current = current.payload;
    }
    return { payload: current, tags: [...tags] };
  }

  fromJournal(event: unknown, manifest: Manifest): readonly unknown[] {
    let events: readonly unknown[] = [event];
    for (const adapter of this.adapters) {
      if (!adapter.fromJournal) continue;
      const next: unknown[] = [];
      for (const current of events) {
        const adapted = adapter.fromJournal(current, manifest);
        if (Array.isArray(adapted)) next.push(...(adapted as readonly unknown[]));
        else next.push(adapted);
      }
      events = next;
    }
    return events;
  }
}
