import type { ActorCell } from './actor-cell.js';
import type { ActorRef } from './actor-ref.js';
import { generatedName, validateActorName } from './names.js';

/**
 * The children of one cell, by name. A cell makes it with its first child, so a leaf actor (most of
 * them: entities) carries neither the map nor the counter behind generated names.
 */
export class ChildContainer {
  readonly #byName = new Map<string, ActorCell>();
  #generated = 0;

  /** The name for a new child: `requested` once it passed the name rules, else a generated one no sibling has. */
  nameFor(requested: string | undefined): string {
    if (requested !== undefined) {
      validateActorName(requested);
      return requested;
    }
    let name: string;
    do name = generatedName(this.#generated++);
    while (this.#byName.has(name));
    return name;
  }

  get(name: string): ActorCell | undefined {
    return this.#byName.get(name);
  }

  add(child: ActorCell): void {
    this.#byName.set(child.name, child);
  }

  /** Forgets a stopped child: its name is free again. */
  remove(child: ActorCell): void {
    if (this.#byName.get(child.name) === child) this.#byName.delete(child.name);
  }

  get refs(): ActorRef[] {
    return [...this.#byName.values()].map((child) => child.self);
  }

  cells(): IterableIterator<ActorCell> {
    return this.#byName.values();
  }

  /** Stops every child; resolves once all of them (and their children) have stopped. */
  stopAll(): Promise<unknown> {
    return Promise.all([...this.#byName.values()].map((child) => child.stopSelf()));
  }
}

/** `/user` and `orders` make `/user/orders`; a parent path that ends in `/` gets no second one. */
export function childPath(parentPath: string, childName: string): string {
  return parentPath.endsWith('/') ? parentPath + childName : `${parentPath}/${childName}`;
}
