import type { OffsetStore, SkippedEvent } from '../../src/persistence/spi.js';
import { checkOffsetArguments } from './offset-checks.js';

/** Projection offsets of the in-memory journal: gone with the process, like its events. */
export class InMemoryOffsetStore implements OffsetStore {
  readonly #offsets = new Map<string, number>();
  readonly #skipped = new Map<string, SkippedEvent[]>();

  async readOffset(projection: string): Promise<number> {
    checkOffsetArguments(projection);
    return this.#offsets.get(projection) ?? 0;
  }

  async saveOffset(projection: string, offset: number): Promise<void> {
    checkOffsetArguments(projection, offset);
    this.#offsets.set(projection, offset);
  }

  async resetOffset(projection: string): Promise<void> {
    checkOffsetArguments(projection);
    this.#offsets.delete(projection);
    this.#skipped.delete(projection);
  }

  async recordSkipped(projection: string, skipped: SkippedEvent): Promise<void> {
    checkOffsetArguments(projection, skipped.offset);
    const list = this.#skipped.get(projection) ?? [];
    list.push({ ...skipped });
    this.#skipped.set(projection, list);
  }

  async skippedEvents(projection: string): Promise<readonly SkippedEvent[]> {
    checkOffsetArguments(projection);
    return [...(this.#skipped.get(projection) ?? [])];
  }
}
