import type { ActorCell } from '../actor/actor-cell.js';
import { StashOverflowError } from '../actor/errors.js';
import type { Envelope } from '../actor/mailbox.js';
import { StatusFailure } from '../actor/messages.js';
import type { ResolvedActorSettings } from './persistence-settings.js';

/**
 * Commands a persistent actor holds back while it recovers or while a stashing persist is pending.
 * Bounded: past capacity, a command goes to dead letters (strategy `drop`) or its sender gets a
 * StashOverflowError (strategy `reply`, also recorded as a dead letter). Either way it is accounted
 * for and logged once per overflow episode; the actor itself is never failed by an overflow.
 */
export class InternalStash {
  #items: Envelope[] = [];
  #overflowWarned = false;

  constructor(private readonly cell: ActorCell) {}

  get size(): number {
    return this.#items.length;
  }

  add(message: unknown, sender: ActorCell['currentSender'], settings: ResolvedActorSettings, persistenceId: string): void {
    const { internalStashCapacity: capacity, internalStashOverflowStrategy: strategy } = settings;
    if (this.#items.length < capacity) {
      this.#items.push({ message, sender });
      return;
    }
    const cell = this.cell;
    if (!this.#overflowWarned) {
      this.#overflowWarned = true;
      cell.log.warn(
        { persistenceId, capacity },
        `internal stash of ${cell.path} is full; commands are ${strategy === 'reply' ? 'answered with an error' : 'sent to dead letters'}`,
      );
    }
    if (strategy === 'reply' && sender) {
      sender.tell(new StatusFailure(new StashOverflowError(cell.path, capacity)), cell.self);
      cell.system.publishDeadLetter(message, sender, cell.path, 'internal stash overflow (sender notified)');
    } else {
      cell.system.publishDeadLetter(message, sender, cell.path, 'internal stash overflow');
    }
  }

  /**
   * What the user unstashes (context.unstashAll) while commands are held here arrived before them:
   * it goes in front, as in Akka. These were accepted already, so capacity does not apply.
   */
  prepend(envelopes: readonly Envelope[]): void {
    this.#items = envelopes.concat(this.#items);
  }

  /** Hands every held command back to the front of the mailbox, in arrival order. */
  release(): void {
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#overflowWarned = false;
    this.cell.prepend(items);
  }

  /** Empties the stash, returning what it held (the actor stops: they become dead letters). */
  drain(): Envelope[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
