/**
 * What this node can do, told by what actually happens: the outcome of the journal's last writes (and
 * reads) with the store's own reason for a failure, the outbox's phase, the role, the broker's
 * connection; and a cheap probe where no event says it (no write yet, or whether a failure has
 * passed). `/healthz` reports it; submissions consult it so that a node that cannot accept says so
 * at once and why, instead of letting every caller wait for an ask to time out.
 */
import type { Logger } from 'pino';
import { asError } from '../src/actor/errors.js';
import { CallTimeoutError } from '../src/persistence/errors.js';
import type { AsyncWriteJournal, StoreFailureReason, WriteOutcome } from '../src/persistence/journal.js';
import type { SnapshotStore } from '../src/persistence/snapshot-store.js';
import { ServiceUnavailableError } from './errors.js';
import type { OutboxHolder, Role } from './outbox-role.js';

/** A store's reasons, plus `timeout` (no answer in time) and `write_failed` (a failure the journal cannot name). */
export type JournalReason = StoreFailureReason | 'timeout' | 'write_failed';

/** One line of the report: whether it is fine, a stable reason (also when fine), and a message when not. */
export interface HealthCheck {
  readonly ok: boolean;
  readonly reason: string;
  readonly message?: string;
}

/**
 * `unavailable` (503): this node cannot accept messages now (journal cannot write, standby,
 * recovering, shutting down). `degraded` (200): it accepts, but a transport is down, so deliveries
 * wait. `ok` (200): all is well.
 */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'unavailable';
  readonly role: Role;
  readonly checks: Readonly<Record<string, HealthCheck>>;
}

export interface HealthOptions {
  readonly holder: OutboxHolder;
  readonly logger: Logger;
  /** Names the store in messages and the fatal line at start, e.g. "SQLite /data/steadfast.db". */
  readonly storeDescription: string;
  /** With AMQP_URL: whether the broker connection is up. */
  readonly brokerConnected?: () => boolean;
  readonly isClosing: () => boolean;
  /** How often a failure is probed for whether it has passed, ms. */
  readonly probeIntervalMs: number;
  /** Bound for one probe (ping and write probe) on behalf of /healthz, ms. */
  readonly probeTimeoutMs: number;
}

interface Failure {
  readonly reason: JournalReason;
  readonly message: string;
  readonly since: number;
}

/** Seconds a client is told to wait before retrying while the journal cannot write. */
const JOURNAL_RETRY_AFTER_SECONDS = 5;
/** How long after a failed write pending submissions still get their own answer before they are given up. */
const ANSWER_GRACE_MS = 100;

export class ServiceHealth {
  readonly #options: HealthOptions;
  #journal: AsyncWriteJournal | undefined;
  #failure: Failure | undefined;
  /** After a journal failure the outbox stops and comes back; until it answers again it is recovering. */
  #outboxReturning = false;
  #watching = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #onCorrupt: ((error: Error) => void) | undefined;
  readonly #pending = new Set<PendingSubmission>();

  constructor(options: HealthOptions) {
    this.#options = options;
  }

  /**
   * The journal as the actor system should see it: the same plugin (every member and capability passes
   * through), with its write and read outcomes recorded here. One extra `then` per journal call.
   */
  observe(journal: AsyncWriteJournal): AsyncWriteJournal {
    this.#journal = journal;
    const onWritten = (outcomes: readonly WriteOutcome[]): void => {
      if (this.#failure !== undefined && outcomes.some((outcome) => outcome.status === 'ok')) this.#recovered('a write succeeded');
    };
    const onWriteFailed = (error: unknown): void => this.#failed(error, 'write_failed');
    const onReadFailed = (error: unknown): void => {
      // A read failure counts only when the store names it (unreachable, corrupt): a bad event is not the store's state.
      if (this.#reasonOf(error) !== undefined) this.#failed(error, 'write_failed');
    };
    const overrides: Partial<AsyncWriteJournal> = {
      writeMessages: (writes) => {
        const written = journal.writeMessages(writes);
        written.then(onWritten, onWriteFailed);
        return written;
      },
      replayMessages: (persistenceId, from, to, max, onMessage) => {
        const replayed = journal.replayMessages(persistenceId, from, to, max, onMessage);
        replayed.catch(onReadFailed);
        return replayed;
      },
      readHighestSequenceNr: (persistenceId, from) => {
        const read = journal.readHighestSequenceNr(persistenceId, from);
        read.catch(onReadFailed);
        return read;
      },
    };
    const replayForRecovery = journal.replayForRecovery?.bind(journal);
    if (replayForRecovery !== undefined) {
      overrides.replayForRecovery = (persistenceId, from, to, max, onMessage) => {
        const replayed = replayForRecovery(persistenceId, from, to, max, onMessage);
        replayed.catch(onReadFailed);
        return replayed;
      };
    }
    return passThrough(journal, overrides);
  }

  /** The snapshot store likewise: a load that fails for a reason the store names (corrupt, unreachable) is recorded. */
  observeSnapshots(store: SnapshotStore): SnapshotStore {
    return passThrough(store, {
      load: (persistenceId, criteria) => {
        const loaded = store.load(persistenceId, criteria);
        loaded.catch((error: unknown) => {
          if (this.#reasonOf(error) !== undefined) this.#failed(error, 'write_failed');
        });
        return loaded;
      },
    });
  }

  /** Called once when the store turns out to be unreadable (corrupt): at start that ends the process. */
  onCorrupt(listener: ((error: Error) => void) | undefined): void {
    this.#onCorrupt = listener;
  }

  /** Why a write cannot be accepted now (503 journal_unavailable or recovering), or undefined. */
  writeRefusal(): ServiceUnavailableError | undefined {
    const failure = this.#failure;
    if (failure !== undefined) {
      return journalUnavailable(failure.reason, `the journal cannot store messages now (${failure.reason}: ${failure.message}); nothing was persisted, retry later`);
    }
    if (this.#outboxReturning) return this.#options.holder.recoveringError('the outbox is coming back after a journal failure');
    return undefined;
  }

  /**
   * The answer to a submission that failed because of the journal (its own error, a call timeout, an
   * open breaker, or any failure while the journal is known to be failing), or undefined for others.
   */
  explain(error: unknown): ServiceUnavailableError | undefined {
    const own = error instanceof OutboxStoppedError ? undefined : this.#reasonOf(error);
    const failure = error instanceof OutboxStoppedError ? error.failure : this.#failure;
    const reason = own ?? failure?.reason;
    if (reason === undefined) return undefined;
    const what = own !== undefined ? asError(error).message : failure!.message;
    return journalUnavailable(
      reason,
      `the journal failed to store the message (${reason}: ${what}); it may have been persisted if the connection broke during commit: retry with the same idempotency key`,
    );
  }

  /**
   * `pending` (a submission to the outbox), or a rejection soon after a journal write fails meanwhile:
   * the outbox stops on a failed write, and a command still in its mailbox then goes to dead letters,
   * whose ask would only time out (10 s). The short grace lets answers already sent arrive first.
   */
  guard<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: PendingSubmission = { reject };
      this.#pending.add(waiter);
      pending.then(
        (value) => {
          this.#pending.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(waiter);
          reject(asError(error));
        },
      );
    });
  }

  async report(): Promise<HealthReport> {
    const { holder, brokerConnected, isClosing } = this.#options;
    const checks: Record<string, HealthCheck> = { journal: await this.#journalCheck(), outbox: this.#outboxCheck() };
    if (brokerConnected !== undefined) {
      checks.broker = brokerConnected()
        ? { ok: true, reason: 'connected' }
        : { ok: false, reason: 'disconnected', message: 'not connected to RabbitMQ (reconnecting); messages are accepted and sent once it is back' };
    }
    const role = holder.role;
    const accepting = role === 'active' && !isClosing() && checks.journal!.ok && checks.outbox!.ok;
    const status = !accepting ? 'unavailable' : Object.values(checks).every((check) => check.ok) ? 'ok' : 'degraded';
    return { status, role, checks };
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async #journalCheck(): Promise<HealthCheck> {
    const failure = this.#failure;
    if (failure !== undefined) return { ok: false, reason: failure.reason, message: failure.message };
    try {
      await withTimeout(this.#probe(), this.#options.probeTimeoutMs);
      return { ok: true, reason: 'writable' };
    } catch (error) {
      const reason = this.#reasonOf(error);
      // A reason the store names is as good as a failed write: refuse at once until a probe says it passed.
      if (reason !== undefined) this.#failed(error, reason);
      return { ok: false, reason: reason ?? (error instanceof ProbeTimeoutError ? 'timeout' : 'write_failed'), message: asError(error).message };
    }
  }

  #outboxCheck(): HealthCheck {
    const { holder, isClosing } = this.#options;
    if (isClosing()) return { ok: false, reason: 'shutting_down', message: 'the service is stopping' };
    switch (holder.phase) {
      case 'standby':
        return { ok: false, reason: 'standby', message: holder.standbyReason };
      case 'recovering':
        return { ok: false, reason: 'recovering', message: 'the outbox is recovering its journal; it accepts once recovered' };
      case 'active':
        if (this.#outboxReturning) return { ok: false, reason: 'recovering', message: 'the outbox is coming back after a journal failure' };
        return { ok: true, reason: 'running' };
    }
  }

  async #probe(): Promise<void> {
    const journal = this.#journal;
    await journal?.ping?.();
    await journal?.probeWrite?.();
  }

  #reasonOf(error: unknown): JournalReason | undefined {
    if (error instanceof CallTimeoutError) return 'timeout';
    return this.#journal?.classifyError?.(error);
  }

  #failed(error: unknown, fallback: JournalReason): void {
    if (this.#closed) return;
    const reason = this.#reasonOf(error) ?? fallback;
    const message = asError(error).message;
    const first = this.#failure === undefined;
    this.#failure = { reason, message, since: this.#failure?.since ?? Date.now() };
    // The outbox stops on a failed write; when the store is back it recovers before it answers again.
    if (fallback === 'write_failed' && this.#options.holder.phase === 'active') {
      this.#outboxReturning = true;
      this.#abandonPending(this.#failure);
    }
    if (first) {
      this.#options.logger.error(
        { err: error, reason, store: this.#options.storeDescription },
        `the journal failed (${reason}); refusing new messages with 503 journal_unavailable until a write or a probe succeeds (probing every ${this.#options.probeIntervalMs} ms)`,
      );
    }
    if (reason === 'corrupt') {
      const listener = this.#onCorrupt;
      this.#onCorrupt = undefined;
      listener?.(asError(error));
    }
    void this.#watch();
  }

  #abandonPending(failure: Failure): void {
    if (this.#pending.size === 0) return;
    const waiting = [...this.#pending];
    setTimeout(() => {
      for (const waiter of waiting) {
        if (this.#pending.delete(waiter)) waiter.reject(new OutboxStoppedError(failure));
      }
    }, ANSWER_GRACE_MS).unref();
  }

  #recovered(how: string): void {
    if (this.#failure === undefined) return;
    this.#options.logger.info({ downMs: Date.now() - this.#failure.since, how }, 'the journal writes again');
    this.#failure = undefined;
  }

  /** While something is wrong: probe the store until it passes, then wait until the outbox answers again. */
  async #watch(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    try {
      while (!this.#closed && (this.#failure !== undefined || this.#outboxReturning)) {
        await this.#sleep(this.#options.probeIntervalMs);
        if (this.#closed) return;
        if (this.#failure !== undefined) {
          try {
            await this.#probe();
            this.#recovered('a probe passed');
          } catch (error) {
            const failure = this.#failure;
            if (failure !== undefined) this.#failure = { ...failure, reason: this.#reasonOf(error) ?? failure.reason, message: asError(error).message };
            continue;
          }
        }
        const outbox = this.#options.holder.current;
        if (outbox === undefined) {
          this.#outboxReturning = false;
          continue;
        }
        try {
          // Answered only once the outbox recovered (commands wait during recovery).
          await outbox.stats();
          if (this.#failure === undefined) this.#outboxReturning = false;
        } catch {
          // Still backing off or recovering: try again.
        }
      }
    } finally {
      this.#watching = false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** `target` with `overrides` in place of some members; every other member passes through, bound to it. */
export function passThrough<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(plugin, property) {
      const override = overrides[property as keyof T];
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(plugin, property, plugin);
      // Plugins keep state in private fields: their methods must run on the plugin itself.
      return typeof value === 'function' ? value.bind(plugin) : value;
    },
  });
}

/** 503 `journal_unavailable` with the store's reason in the body's `error.reason`. */
function journalUnavailable(reason: JournalReason, message: string): ServiceUnavailableError {
  return new ServiceUnavailableError('journal_unavailable', message, { reason, retryAfterSeconds: JOURNAL_RETRY_AFTER_SECONDS });
}

class ProbeTimeoutError extends Error {}

interface PendingSubmission {
  readonly reject: (error: Error) => void;
}

/** A submission given up on because the outbox stopped after a failed journal write (explain() answers it). */
class OutboxStoppedError extends Error {
  constructor(readonly failure: Failure) {
    super(`the outbox stopped after a failed journal write (${failure.reason}: ${failure.message})`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProbeTimeoutError(`the journal did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(asError(error));
      },
    );
  });
}
