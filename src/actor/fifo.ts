/**
 * A first-in first-out queue for waiters (a send waiting for a slot, a query waiting for a statement):
 * O(1) push and shift however long it gets, and O(1) removal of an entry that gave up (a timeout).
 *
 * `Array.prototype.shift` is O(1) only while V8 can trim the array in place; once an array of waiters
 * is large (tens of thousands of sends queued behind a concurrency limit, its backing store in the
 * large-object space), every shift moves the whole array, and `indexOf` + `splice` on a timeout does
 * too. Here the consumed prefix is dropped once it dominates, and a removed entry leaves a hole that
 * `shift` skips.
 */
const REMOVED: unique symbol = Symbol('removed');

export class Fifo<T> {
  #items: (T | typeof REMOVED)[] = [];
  #head = 0;
  /** Ticket of `#items[0]`: tickets stay valid when the consumed prefix is dropped. */
  #base = 0;
  #size = 0;

  /** Entries waiting (removed ones not counted). */
  get size(): number {
    return this.#size;
  }

  /** Appends `item`; the ticket removes it again (`remove`). */
  push(item: T): number {
    this.#items.push(item);
    this.#size++;
    return this.#base + this.#items.length - 1;
  }

  /** The oldest entry, left in place; undefined when none waits. */
  peek(): T | undefined {
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item !== REMOVED) return item;
    }
    return undefined;
  }

  /** The oldest entry, taken out; undefined when none waits. */
  shift(): T | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      this.#items[this.#head] = REMOVED;
      this.#head++;
      if (item !== REMOVED) {
        this.#size--;
        this.#compact();
        return item;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Takes the entry of `ticket` out if it still waits; true when it did. */
  remove(ticket: number): boolean {
    const index = ticket - this.#base;
    if (index < this.#head || index >= this.#items.length || this.#items[index] === REMOVED) return false;
    this.#items[index] = REMOVED;
    this.#size--;
    return true;
  }

  /** Every entry still waiting, oldest first; the queue is empty afterwards. */
  drain(): T[] {
    const rest: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item !== REMOVED) rest.push(item);
    }
    this.#base += this.#items.length;
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
    return rest;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#base += this.#head;
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#base += this.#head;
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
