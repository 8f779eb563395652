import { Actor, type ActorFactory, type MessageOf } from './actor.js';
import type { ActorRef } from './actor-ref.js';
import { InvalidOptionError } from './errors.js';
import { Terminated } from './messages.js';
import { oneForOneStrategy, type SupervisorStrategy } from './supervision.js';

export interface BackoffOptions<A extends Actor = Actor> {
  /** The supervised actor. */
  child: ActorFactory<A>;
  childName: string;
  /** First delay before a restart, ms. */
  minBackoffMs: number;
  /** Delays double up to this cap, ms. */
  maxBackoffMs: number;
  /** Each delay is stretched by a random share up to this factor (0.2 = up to +20%), so restarts of many actors spread out. Default 0.2. */
  randomFactor?: number;
  /** When the child has run this long without stopping or failing, the next delay starts from `minBackoffMs` again. Default: `maxBackoffMs`. */
  resetBackoffAfterMs?: number;
  /**
   * `on-stop` (default): restart when the child stops, e.g. a persistent actor after a journal failure.
   * `on-failure`: restart with backoff when the child throws; a child that stops by itself stays stopped.
   */
  mode?: 'on-stop' | 'on-failure';
  /** Observes each scheduled restart (tests, metrics). */
  onRestartScheduled?: (attempt: number, delayMs: number) => void;
}

class StartChild {
  constructor(readonly generation: number) {}
}

class ResetBackoff {
  constructor(readonly generation: number) {}
}

/** Delay before restart number `attempt` (0-based): min * 2^attempt, capped, stretched by jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, randomFactor: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 52));
  return Math.min(maxMs * (1 + randomFactor), base * (1 + random() * randomFactor));
}

/**
 * Akka's BackoffSupervisor: owns one child, forwards messages to it, and brings it back after an
 * exponentially growing delay when it stops (or fails). Messages that arrive while the child is
 * down go to dead letters; senders that need them delivered use at-least-once delivery. Its ref
 * accepts the child's messages (`props` infers them from the child factory).
 */
export class BackoffSupervisor<Message = unknown> extends Actor<Message> {
  #child: ActorRef | undefined;
  /** The child the strategy last stopped for a failure (on-failure mode tells that apart from a voluntary stop). */
  #failedChild: ActorRef | undefined;
  /** on-failure mode: the child stopped by itself and is not brought back. */
  #childStoppedForGood = false;
  #attempt = 0;
  #generation = 0;
  readonly #settings: Required<Omit<BackoffOptions, 'onRestartScheduled'>> & Pick<BackoffOptions, 'onRestartScheduled'>;

  static props<A extends Actor>(options: BackoffOptions<A>): ActorFactory<BackoffSupervisor<MessageOf<A>>> {
    validateBackoffOptions(options);
    return () => new BackoffSupervisor(options);
  }

  constructor(options: BackoffOptions) {
    super();
    validateBackoffOptions(options);
    this.#settings = {
      randomFactor: 0.2,
      resetBackoffAfterMs: options.maxBackoffMs,
      mode: 'on-stop',
      ...options,
    };
  }

  override get supervisorStrategy(): SupervisorStrategy {
    if (this.#settings.mode !== 'on-failure') return oneForOneStrategy();
    return oneForOneStrategy({
      decide: (_error, child) => {
        this.#failedChild = child;
        return 'stop';
      },
    });
  }

  /** The child as it runs now (undefined while waiting to restart it). */
  get currentChild(): ActorRef | undefined {
    return this.#child;
  }

  override preStart(): void {
    this.#startChild();
  }

  // Besides the child's messages, its own: Terminated of the child and its timers' messages.
  receive(message: Message): void {
    if (message instanceof Terminated) {
      if (message.actor !== this.#child) return;
      this.#child = undefined;
      this.#generation++;
      if (this.#settings.mode === 'on-failure' && this.#failedChild !== message.actor) {
        this.#childStoppedForGood = true;
        this.log.info(`${this.#settings.childName} stopped by itself; not restarting it (mode on-failure)`);
        return;
      }
      this.#failedChild = undefined;
      const delay = backoffDelay(this.#attempt, this.#settings.minBackoffMs, this.#settings.maxBackoffMs, this.#settings.randomFactor);
      this.#attempt++;
      this.#settings.onRestartScheduled?.(this.#attempt, delay);
      this.log.info({ attempt: this.#attempt, delayMs: Math.round(delay) }, `${this.#settings.childName} stopped; restarting it after backoff`);
      this.context.timers.startSingleTimer('backoff', new StartChild(this.#generation), delay);
      return;
    }
    if (message instanceof StartChild) {
      if (message.generation === this.#generation && !this.#child) this.#startChild();
      return;
    }
    if (message instanceof ResetBackoff) {
      if (message.generation === this.#generation) this.#attempt = 0;
      return;
    }
    if (this.#child) this.#child.tell(message, this.sender);
    else {
      const reason = this.#childStoppedForGood ? 'child stopped' : 'child is backing off';
      this.context.system.publishDeadLetter(message, this.sender, `${this.self.path}/${this.#settings.childName}`, reason);
    }
  }

  #startChild(): void {
    this.#child = this.context.watch(this.context.actorOf(this.#settings.child, this.#settings.childName));
    this.context.timers.startSingleTimer('reset', new ResetBackoff(this.#generation), this.#settings.resetBackoffAfterMs);
  }
}

function validateBackoffOptions(options: BackoffOptions): void {
  const { minBackoffMs, maxBackoffMs, randomFactor = 0.2 } = options;
  if (typeof options.child !== 'function') throw new InvalidOptionError('backoff option child must be an actor factory');
  if (!(minBackoffMs > 0)) throw new InvalidOptionError(`backoff option minBackoffMs must be > 0, got ${minBackoffMs}`);
  if (!(maxBackoffMs >= minBackoffMs)) {
    throw new InvalidOptionError(`backoff option maxBackoffMs must be >= minBackoffMs, got ${maxBackoffMs}`);
  }
  if (!(randomFactor >= 0)) throw new InvalidOptionError(`backoff option randomFactor must be >= 0, got ${randomFactor}`);
}
