/**
 * Bounds how many actors recover at once (Akka's max-concurrent-recoveries), so a restart with
 * 10 000 actors does not open 10 000 replays against the database. Waiters are served in order.
 */
export class RecoveryPermits {
  #available: number;
  readonly #waiters: (() => void)[] = [];
  #head = 0;

  constructor(readonly max: number) {
    this.#available = max;
  }

  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  acquire(): Promise<void> {
    if (this.#available > 0) {
      this.#available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!;
      this.#waiters[this.#head] = undefined as unknown as () => void;
      this.#head++;
      if (this.#head === this.#waiters.length) {
        this.#waiters.length = 0;
        this.#head = 0;
      }
      next();
      return;
    }
    this.#available++;
  }
}
