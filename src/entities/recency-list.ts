/** What the list links: any object with these two fields (the region's Entity). */
export interface RecencyNode {
  older: RecencyNode | undefined;
  newer: RecencyNode | undefined;
}

/**
 * Entities in order of last use, least recent first, as a doubly linked list through the entities
 * themselves. A touch is four pointer writes; before, it was a delete and a re-insert in the region's Map,
 * which with 100 000 entries made V8 rehash the table every few tens of thousands of touches and cost
 * three quarters of a tell to a hot entity (bench/README.md, 2026-12-02 evening).
 */
export class RecencyList<Node extends RecencyNode> {
  #oldest: Node | undefined;
  #newest: Node | undefined;

  /** Adds a node as the most recently used one. */
  push(node: Node): void {
    node.older = this.#newest;
    node.newer = undefined;
    if (this.#newest === undefined) this.#oldest = node;
    else this.#newest.newer = node;
    this.#newest = node;
  }

  remove(node: Node): void {
    if (node.older === undefined) this.#oldest = node.newer as Node | undefined;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.#newest = node.older as Node | undefined;
    else node.newer.older = node.older;
    node.older = undefined;
    node.newer = undefined;
  }

  /** Marks a node as just used. */
  touch(node: Node): void {
    if (node === this.#newest) return;
    this.remove(node);
    this.push(node);
  }

  /** From the least recently used on; a node removed during the walk does not stop it. */
  *fromOldest(): IterableIterator<Node> {
    let node = this.#oldest;
    while (node !== undefined) {
      const next = node.newer as Node | undefined;
      yield node;
      node = next;
    }
  }
}
