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
    const previous = this.tails.get(key);
    // An idle lane starts the task at once; a failing task must not break the chain for the next
    // message of the same entity, and the lane is forgotten once nothing is queued behind it.
    const next: Promise<void> = (previous === undefined ? start(task) : previous.then(task)).then(
      () => this.forget(key, next),
      () => this.forget(key, next),
    );
    this.tails.set(key, next);
    return next;
  }

  private forget(key: string, lane: Promise<void>): void {
    if (this.tails.get(key) === lane) this.tails.delete(key);
  }
}

function start(task: () => Promise<void>): Promise<void> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
