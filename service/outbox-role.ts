/**
 * One writer per outbox. With a store shared by several processes (PostgreSQL), the process that holds
 * the outbox's lease is the active one: it runs the outbox and accepts messages. Any other process on
 * the same store is a hot standby: it listens, answers the outbox routes with 503 `standby`, and tries
 * the lease every POLL interval; when the active process dies its session ends, the lock frees, and
 * the standby takes over (recovers the outbox, which resends what is unconfirmed). A lease lost while
 * the process lives (database restarted, network cut) makes the active one step down and take the lease
 * again at once if it is free (no other process is known to hold it then, and answers say so).
 * Stores used by one process at a time (SQLite, in memory) need no lease: the role is always active.
 */
import type { Logger } from 'pino';
import type { Outbox } from '../delivery/outbox/outbox.js';
import type { Lease } from '../src/persistence/journal.js';
import { ServiceUnavailableError } from './errors.js';

export type Role = 'active' | 'standby';

/** `recovering`: the outbox is ours (lease taken, or none needed) but has not recovered yet. */
export type OutboxPhase = 'standby' | 'recovering' | 'active';

/** Seconds a client is told to wait while the outbox recovers. */
const RECOVERING_RETRY_AFTER_SECONDS = 2;

/**
 * Where the routes reach the outbox: present while this process is active, absent on a standby and
 * while the outbox recovers, and there again after a takeover. `get()` is synchronous, so the active
 * path pays no extra await.
 */
export class OutboxHolder {
  #outbox: Outbox | undefined;
  #recovering = false;
  /**
   * This process lost the outbox's lease itself and is taking it again: nobody else is known to hold
   * it, so answers must not send clients to "the active one".
   */
  #retaking = false;
  #writeRefusal: () => ServiceUnavailableError | undefined = () => undefined;

  /** Names the store in answers and log lines, e.g. "schema steadfast". */
  constructor(readonly scope: string) {}

  get role(): Role {
    return this.phase === 'standby' ? 'standby' : 'active';
  }

  get phase(): OutboxPhase {
    if (this.#outbox !== undefined) return 'active';
    return this.#recovering ? 'recovering' : 'standby';
  }

  /** The outbox while active, else undefined. */
  get current(): Outbox | undefined {
    return this.#outbox;
  }

  /** The outbox, or a 503 to throw at the caller: `standby`, or `recovering` (both with Retry-After). */
  get(): Outbox {
    const outbox = this.#outbox;
    if (outbox === undefined) throw this.#recovering ? this.recoveringError('the outbox is recovering its journal') : this.standbyError();
    return outbox;
  }

  /** `get()` for a route that writes: also refuses at once while the journal is known not to accept writes. */
  forWriting(): Outbox {
    const outbox = this.get();
    const refusal = this.#writeRefusal();
    if (refusal !== undefined) throw refusal;
    return outbox;
  }

  /** What forWriting() asks (the health model knows whether the journal writes). */
  refuseWritesWhen(refusal: () => ServiceUnavailableError | undefined): void {
    this.#writeRefusal = refusal;
  }

  /** Why this process does not run the outbox now, for answers and the health check. */
  get standbyReason(): string {
    return this.#retaking ? `the outbox lease of ${this.scope} was lost; this process is taking it again` : `another process holds the outbox of ${this.scope}`;
  }

  /** 503 with `Retry-After: 1` (ServiceUnavailableError's). */
  standbyError(): ServiceUnavailableError {
    if (this.#retaking) {
      return new ServiceUnavailableError('standby', `${this.standbyReason}: retry shortly (should another process take it first, send there)`);
    }
    return new ServiceUnavailableError(
      'standby',
      `this process is a hot standby: another process holds the outbox of ${this.scope}; send to the active one, or retry here (it takes over when the active one stops)`,
    );
  }

  /** 503 `recovering` with Retry-After: nothing was persisted, the same request will be accepted soon. */
  recoveringError(why: string): ServiceUnavailableError {
    return new ServiceUnavailableError('recovering', `${why}; nothing was persisted: retry shortly`, { retryAfterSeconds: RECOVERING_RETRY_AFTER_SECONDS });
  }

  /** The outbox is ours and starts recovering: answers say `recovering` until activate(). */
  recovering(): void {
    this.#recovering = true;
  }

  activate(outbox: Outbox): void {
    this.#outbox = outbox;
    this.#recovering = false;
    this.#retaking = false;
  }

  /** The lease was lost: no outbox here until this process has taken the lease again. */
  stepDown(): Outbox | undefined {
    this.#retaking = true;
    return this.deactivate();
  }

  /** Trying to take the lease again found another holder: a standby like any other from now on. */
  standingBy(): void {
    this.#retaking = false;
  }

  deactivate(): Outbox | undefined {
    const outbox = this.#outbox;
    this.#outbox = undefined;
    this.#recovering = false;
    return outbox;
  }
}

export interface OwnershipOptions {
  readonly holder: OutboxHolder;
  readonly logger: Logger;
  /** Tries the lease once; undefined when the store needs none (one process per store anyway). */
  readonly acquire: (() => Promise<Lease | undefined>) | undefined;
  /** Starts the outbox and resolves once it recovered (rejects if it cannot). */
  readonly startOutbox: () => Promise<Outbox>;
  readonly pollIntervalMs: number;
}

/** The role's life: active or standby at start, then takeovers and step-downs until close(). */
export class OutboxOwnership {
  readonly #options: OwnershipOptions;
  #loop: Promise<void> | undefined;
  #closing = false;
  #wake: (() => void) | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: OwnershipOptions) {
    this.#options = options;
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * Resolves once the first role is settled: active (lease taken or not needed, outbox recovered) or
   * standby (waiting for the lease in the background). Rejects when the store cannot be asked or the
   * outbox cannot recover — at start that is the operator's to fix, so the process exits.
   */
  async start(): Promise<Role> {
    const { acquire, holder } = this.#options;
    if (acquire === undefined) {
      holder.activate(await this.#startOutbox());
      return 'active';
    }
    const lease = await acquire();
    if (lease === undefined) {
      this.#loop = this.#run(undefined);
      return 'standby';
    }
    let outbox: Outbox;
    try {
      outbox = await this.#startOutbox();
    } catch (error) {
      await lease.release();
      throw error;
    }
    this.#loop = this.#run({ lease, outbox });
    return holder.role;
  }

  /** Stops waiting and watching; the outbox stays (the system's termination stops it, the journal's close releases the lease). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#resolveClosed();
    this.#wake?.();
    await this.#loop;
  }

  async #run(initial: { lease: Lease; outbox: Outbox } | undefined): Promise<void> {
    const { holder, logger } = this.#options;
    let active = initial;
    let lostOwnLease = false;
    try {
      for (;;) {
        if (active === undefined) {
          if (!lostOwnLease) logger.info({ role: 'standby' }, `another process holds the outbox of ${holder.scope}; waiting as hot standby`);
          active = await this.#takeOver(lostOwnLease);
          lostOwnLease = false;
          if (active === undefined) return;
        }
        const { lease, outbox } = active;
        active = undefined;
        if (this.#closing) return;
        if (lease.held) {
          holder.activate(outbox);
          const outcome = await Promise.race([lease.lost, this.#closed.then(() => undefined)]);
          if (outcome === undefined) return; // closing: stay as we are until the system terminates
          logger.warn({ err: outcome, role: 'standby' }, `lost the outbox lease of ${holder.scope}; stepping down: no more accepting or sending here`);
        } else {
          logger.warn({ role: 'standby' }, `lost the outbox lease of ${holder.scope} while the outbox recovered; stepping down`);
        }
        holder.stepDown();
        // Stopped before anyone else may write: the journal's sequence-number check refuses any stale write.
        await outbox.stop();
        await lease.release();
        lostOwnLease = true;
      }
    } catch (error) {
      logger.error({ err: error }, 'the outbox role failed; this process stays standby');
      holder.deactivate();
    }
  }

  /**
   * Polls the lease until it is ours and the outbox recovered behind it; undefined when closing.
   * `retaking`: this process just lost the lease itself, so whoever gets it next may well be us again.
   */
  async #takeOver(retaking: boolean): Promise<{ lease: Lease; outbox: Outbox } | undefined> {
    const { acquire, holder, logger, pollIntervalMs } = this.#options;
    let failing = false;
    for (;;) {
      if (this.#closing) return undefined;
      let lease: Lease | undefined;
      try {
        lease = await acquire!();
        if (failing) {
          logger.info(
            retaking
              ? `the store answers again; trying to take the outbox of ${holder.scope} again`
              : `the store answers again; still waiting as hot standby for the outbox of ${holder.scope}`,
          );
        }
        failing = false;
        if (lease === undefined && retaking) {
          retaking = false;
          holder.standingBy();
          logger.info({ role: 'standby' }, `another process holds the outbox of ${holder.scope}; waiting as hot standby`);
        }
      } catch (error) {
        if (!failing) logger.warn({ err: error }, `cannot ask for the outbox lease of ${holder.scope}; retrying every ${pollIntervalMs} ms`);
        failing = true;
      }
      if (lease !== undefined) {
        if (this.#closing) {
          await lease.release();
          return undefined;
        }
        const started = performance.now();
        logger.info(
          { role: 'active' },
          retaking
            ? `took the outbox of ${holder.scope} again after losing its lease; recovering`
            : `took over the outbox of ${holder.scope} (the active process is gone); recovering`,
        );
        try {
          const outbox = await this.#startOutbox();
          logger.info({ role: 'active', recoveryMs: Math.round(performance.now() - started) }, `active: the outbox of ${holder.scope} is ours`);
          return { lease, outbox };
        } catch (error) {
          logger.error({ err: error }, `took the outbox lease of ${holder.scope} but the outbox did not recover; releasing it and waiting again`);
          await lease.release();
        }
      }
      await this.#sleep(pollIntervalMs);
    }
  }

  /** The outbox recovering behind a lease of ours: the answers say `recovering` (not `standby`) meanwhile. */
  async #startOutbox(): Promise<Outbox> {
    const { holder, startOutbox } = this.#options;
    holder.recovering();
    try {
      return await startOutbox();
    } catch (error) {
      holder.deactivate();
      throw error;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
