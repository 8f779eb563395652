/**
 * Timers owned by one actor (Akka's TimerScheduler). Each timer has a key; starting a timer with a key
 * that is in use replaces it. A cancelled or replaced timer's message is never received, even if it was
 * already in the mailbox: every firing carries a generation that is checked when it is dequeued.
 * All timers are cancelled when the actor stops or restarts.
 */
export class TimerFired {
  constructor(
    readonly key: unknown,
    readonly generation: number,
    readonly message: unknown,
  ) {}
}

interface TimerEntry {
  readonly generation: number;
  readonly periodic: boolean;
  readonly handle: NodeJS.Timeout;
}

export interface TimerScheduler {
  /** Sends `message` to self once, after `delayMs`. */
  startSingleTimer(key: unknown, message: unknown, delayMs: number): void;
  /** Sends `message` to self every `intervalMs` until cancelled. */
  startPeriodicTimer(key: unknown, message: unknown, intervalMs: number): void;
  isTimerActive(key: unknown): boolean;
  cancel(key: unknown): void;
  cancelAll(): void;
}

let nextGeneration = 1;

export class ActorTimers implements TimerScheduler {
  readonly #timers = new Map<unknown, TimerEntry>();
  readonly #sendToSelf: (fired: TimerFired) => void;

  constructor(sendToSelf: (fired: TimerFired) => void) {
    this.#sendToSelf = sendToSelf;
  }

  startSingleTimer(key: unknown, message: unknown, delayMs: number): void {
    this.#start(key, message, delayMs, false);
  }

  startPeriodicTimer(key: unknown, message: unknown, intervalMs: number): void {
    this.#start(key, message, intervalMs, true);
  }

  isTimerActive(key: unknown): boolean {
    return this.#timers.has(key);
  }

  cancel(key: unknown): void {
    const entry = this.#timers.get(key);
    if (!entry) return;
    if (entry.periodic) clearInterval(entry.handle);
    else clearTimeout(entry.handle);
    this.#timers.delete(key);
  }

  cancelAll(): void {
    for (const key of [...this.#timers.keys()]) this.cancel(key);
  }

  get size(): number {
    return this.#timers.size;
  }

  /** Called when a TimerFired is dequeued: returns the message to handle, or undefined if stale. */
  accept(fired: TimerFired): { message: unknown } | undefined {
    const entry = this.#timers.get(fired.key);
    if (!entry || entry.generation !== fired.generation) return undefined;
    if (!entry.periodic) this.#timers.delete(fired.key);
    return { message: fired.message };
  }

  #start(key: unknown, message: unknown, delayMs: number, periodic: boolean): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`timer delay must be a finite number of milliseconds >= 0, got ${delayMs}`);
    }
    this.cancel(key);
    const generation = nextGeneration++;
    const fire = () => this.#sendToSelf(new TimerFired(key, generation, message));
    // Node caps timeouts at 2^31-1 ms; larger values would fire at once.
    const delay = Math.min(Math.max(1, delayMs), 2_147_483_647);
    const handle = periodic ? setInterval(fire, delay) : setTimeout(fire, delay);
    this.#timers.set(key, { generation, periodic, handle });
  }
}
