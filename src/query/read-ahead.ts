/**
 * A projection's query, read ahead of its handler: a pump pulls the query's events into a bounded
 * buffer while the handler works, and the projection takes its batches from that buffer.
 *
 * Why: pulling the next event only when the next batch was gathered meant that, per batch, the
 * events of the page in hand were decoded only after the batch before had committed, and the read of
 * the page after was started only then: decoding and the next read sat on the batch's critical path
 * (bench/README.md, 2026-12-04). The pump decodes a page as it arrives and, once the buffer holds a
 * batch, pulls one event more, which starts the read of the next page while the handler is still busy.
 *
 * Kept from before: events are handed out in order and none is skipped; a batch holds only events
 * already read (it never waits for more than the first); a failed read or decode reaches the handler
 * after every event before it. Bounded: the buffer holds at most `limit + 1` events, beside the page the
 * query itself holds and its read in flight.
 */
import type { EventEnvelope } from './event-envelope.js';
import { PagedIterator } from './paged-iterator.js';

export class ReadAhead {
  #buffer: EventEnvelope[] = [];
  #head = 0;
  /** The query ended (done), or its read failed: nothing more will be buffered. */
  #ended = false;
  #failure: { readonly error: unknown } | undefined;
  /** The pump waits for the buffer to have room. */
  #room: (() => void) | undefined;
  /** The consumer waits for an event. */
  #arrived: (() => void) | undefined;
  #wakeScheduled = false;
  /** The pump's loop; settles once the query ended or failed, or `close()` was called. */
  readonly pumped: Promise<void>;
  #closed = false;

  constructor(
    private readonly iterator: AsyncIterator<EventEnvelope>,
    private readonly limit: number,
  ) {
    this.pumped = this.#pump();
  }

  /**
   * The next batch: at least one event (waiting for it if none is buffered), then whatever else is
   * buffered an event-loop turn later, up to `max`; undefined once the query ended. Rejects with the
   * query's failure once the events before it were taken.
   */
  async take(max: number): Promise<EventEnvelope[] | undefined> {
    while (this.#head === this.#buffer.length) {
      if (this.#ended) return this.#end();
      await new Promise<void>((resolve) => (this.#arrived = resolve));
    }
    const buffer = this.#buffer;
    const end = Math.min(buffer.length, this.#head + max);
    const batch = buffer.slice(this.#head, end);
    this.#head = end;
    if (end === buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    }
    // The pump goes on an event-loop turn later: the handler's first statement for this batch is sent
    // before the pump decodes the rest of the page in hand and sends the next read.
    const room = this.#room;
    this.#room = undefined;
    if (room !== undefined) setImmediate(room);
    return batch;
  }

  /** Stops pulling (the caller aborts the query's read in flight, then awaits `pumped`). */
  close(): void {
    this.#closed = true;
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }

  #end(): undefined {
    if (this.#failure !== undefined) throw this.#failure.error;
    return undefined;
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        // One event beyond a full batch is pulled: that pull starts the read of the query's next page.
        if (this.buffered > this.limit) await new Promise<void>((resolve) => (this.#room = resolve));
        if (this.#closed) return;
        const next = await this.iterator.next();
        if (next.done === true || this.#closed) return;
        this.#buffer.push(next.value);
        // The rest of the page in hand without a promise per event, where the query is the read
        // journal's own iterator.
        if (this.iterator instanceof PagedIterator) this.iterator.takeInHand(this.#buffer, this.#head + this.limit + 1);
        // The consumer is woken an event-loop turn later: the rest of the page, already read, is pulled
        // in microtasks before it, so that the batch holds the whole page.
        if (this.#arrived !== undefined && !this.#wakeScheduled) {
          this.#wakeScheduled = true;
          setImmediate(() => this.#wake());
        }
      }
    } catch (error) {
      this.#failure = { error };
    } finally {
      this.#ended = true;
      this.#wake();
    }
  }

  /** Events read and not yet taken. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  #wake(): void {
    this.#wakeScheduled = false;
    const arrived = this.#arrived;
    this.#arrived = undefined;
    arrived?.();
  }
}
