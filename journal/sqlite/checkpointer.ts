import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * Runs WAL checkpoints on a worker thread. A checkpoint copies every page the WAL holds back into
 * the database file and fsyncs it; on the event loop that costs tens of milliseconds once the WAL has
 * grown, far more than a bounded write transaction. So the main connection never checkpoints
 * (`wal_autocheckpoint=0`) and this thread does it with a connection of its own (PASSIVE: it never
 * blocks the writer).
 *
 * Reclaiming space rides on the same cycle. After a checkpoint that copied the whole WAL, the main
 * connection returns free pages (left by deleted events and snapshots; the file is in incremental
 * auto-vacuum mode, see schema.ts) with `PRAGMA incremental_vacuum` in steps of RECLAIM_PAGES_PER_STEP,
 * one event-loop turn apart and at most RECLAIM_STEPS_PER_CYCLE per cycle; the next checkpoint then
 * shortens the file. Once nothing is free and the WAL is fully copied yet larger than
 * WAL_TRUNCATE_BYTES, a TRUNCATE checkpoint gives the WAL file's space back (it has nothing left to
 * copy, so it is quick; with a busy timeout of 0 it is skipped when a reader holds the WAL). These run
 * on the main connection and not on the worker because they write: a second writer connection would
 * make the main one wait in SQLite's sleeping busy handler, on the event loop.
 *
 * The worker is plain CommonJS evaluated from a string, so it runs the same from the TypeScript
 * sources (tests, tsx) and from the compiled package. An evaluated worker resolves `require` from the
 * process's working directory, not from this package, so it is handed the driver's resolved path: a
 * program started from another directory (or a layout that does not hoist better-sqlite3) would
 * otherwise fail to load it, and no checkpoint would ever run.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, complete: result.busy === 0 && result.log === result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
});
`;

/** Checkpoint after this many commits, or when this much time passed since the last one with commits. */
const COMMITS_PER_CHECKPOINT = 16;
const MAX_CHECKPOINT_INTERVAL_MS = 1000;
/** How long close() lets the worker finish its checkpoint and close its connection before ending it. */
const CLOSE_GRACE_MS = 2000;

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * The worker starts without the process's preloads: a worker inherits `execArgv` and `NODE_OPTIONS`
 * (a `--import tsx` loader, an APM agent), which it does not need, which slow its start, and which can
 * keep it from ever running (module hooks registered from a worker deadlock on some Node versions,
 * nodejs/node#53182): close() would then wait for an exit that never comes, and so would
 * `system.terminate()` and the process.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _preloads, ...env } = process.env;
  return env;
}
/** 1 MiB of 4 KiB pages: one step is a short transaction (about a millisecond or two here). */
const RECLAIM_PAGES_PER_STEP = 256;
const RECLAIM_STEPS_PER_CYCLE = 32;
/** A fully copied WAL larger than this is truncated when nothing else is left to do. */
const WAL_TRUNCATE_BYTES = 4 * 1024 * 1024;

interface CheckpointReply {
  readonly ok: boolean;
  /** Every frame of the WAL is in the database file now. */
  readonly complete?: boolean;
  readonly message?: string;
}

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #commits = 0;
  #inFlight = false;
  #last = performance.now();
  #lastError: string | undefined;
  #closed = false;
  #reclaiming = false;
  #checkpoints = 0;
  #trailing: NodeJS.Timeout | undefined;

  /** @param db the main connection, which reclaims free pages after checkpoints (undefined: never). */
  constructor(
    readonly path: string,
    readonly db?: Database.Database,
  ) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: driverPath }, execArgv: [], env: workerEnv() });
    this.#worker.unref();
    this.#worker.on('message', (reply: CheckpointReply) => {
      this.#inFlight = false;
      this.#last = performance.now();
      // A failed checkpoint is not a failed write: the WAL just keeps growing until the next one works.
      this.#lastError = reply.ok ? undefined : reply.message;
      if (reply.ok) this.#checkpoints++;
      if (reply.ok && reply.complete) this.#reclaim();
      else this.#checkpointIfDue();
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    // A worker that died (its driver did not load, say) only means no checkpoints: writes go on.
    this.#worker.on('error', (error) => {
      this.#lastError = `the checkpoint worker failed: ${error.message}`;
    });
  }

  /** Why the last checkpoint failed, or the worker died, if it did (for diagnostics). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Checkpoints completed so far (for diagnostics). */
  get checkpoints(): number {
    return this.#checkpoints;
  }

  afterCommit(): void {
    this.#commits++;
    this.#checkpointIfDue();
  }

  #checkpointIfDue(): void {
    if (this.#inFlight || this.#closed || this.#commits === 0) return;
    if (this.#commits < COMMITS_PER_CHECKPOINT && performance.now() - this.#last < MAX_CHECKPOINT_INTERVAL_MS) {
      // The last commits before a quiet spell are checkpointed too (and their space reclaimed).
      this.#trailing ??= setTimeout(() => {
        this.#trailing = undefined;
        this.#checkpointIfDue();
      }, MAX_CHECKPOINT_INTERVAL_MS).unref();
      return;
    }
    this.#commits = 0;
    this.#inFlight = true;
    this.#worker.postMessage('checkpoint');
  }

  /**
   * Returns free pages in bounded steps, one event-loop turn apart; then, with nothing left, truncates
   * a large, fully copied WAL. Each step commits, so the checkpoint cycle carries on by itself.
   */
  #reclaim(): void {
    const db = this.db;
    if (db === undefined || this.#reclaiming || this.#closed) return;
    this.#reclaiming = true;
    let steps = 0;
    const step = (): void => {
      if (this.#closed || !db.open || db.inTransaction) {
        this.#reclaiming = false;
        return;
      }
      try {
        if ((db.pragma('freelist_count', { simple: true }) as number) > 0) {
          db.pragma(`incremental_vacuum(${RECLAIM_PAGES_PER_STEP})`);
          this.afterCommit();
          if (++steps < RECLAIM_STEPS_PER_CYCLE) {
            setImmediate(step);
            return;
          }
        } else if (walBytes(this.path) > WAL_TRUNCATE_BYTES) {
          truncateWal(db);
        }
      } catch (error) {
        // Busy (an operator's reader) or out of disk: the space stays allocated until the next cycle.
        this.#lastError = (error as Error).message;
      }
      this.#reclaiming = false;
    };
    setImmediate(step);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#trailing);
    // Referenced again while it shuts down, so a process that awaits close() is not ended early.
    this.#worker.ref();
    this.#worker.postMessage('close');
    // Bounded: a worker that does not answer is ended (a checkpoint cut short is safe: the WAL stays
    // and the next checkpoint copies it), so closing the journal always finishes.
    let grace: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>((resolve) => {
      grace = setTimeout(() => resolve('overdue'), CLOSE_GRACE_MS);
    });
    if ((await Promise.race([this.#exited, overdue])) === 'overdue') {
      this.#lastError = `the checkpoint worker did not close within ${CLOSE_GRACE_MS} ms and was terminated`;
      await this.#worker.terminate();
      await this.#exited;
    }
    clearTimeout(grace);
  }
}

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

function truncateWal(db: Database.Database): void {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}
