/**
 * Runs tasks concurrently across keys and strictly one after another within a key: messages of one
 * entity are handled in arrival order while different entities proceed in parallel. The total
 * concurrency is bounded from outside (by the channel prefetch), so lanes need no limit of their own.
 */
export class EntityLanes {
  private readonly tails = new Map<string, Promise<void>>();

  get activeKeys(): number {
    return this.tails.size;
  }

  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // A failing task must not break the chain for the next message of the same entity.
    const next = previous.then(task).catch(() => {});
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }
}
