import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Runs WAL checkpoints on a worker thread. A checkpoint copies every page the WAL holds back into
 * the database file and fsyncs it; on the event loop that costs tens of milliseconds once the WAL has
 * grown, far more than a bounded write transaction. So the main connection never checkpoints
 * (`wal_autocheckpoint=0`) and this thread does it with a connection of its own (PASSIVE: it never
 * blocks the writer).
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
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
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

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #commits = 0;
  #inFlight = false;
  #last = performance.now();
  #lastError: string | undefined;
  #checkpoints = 0;

  constructor(path: string) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: driverPath }, execArgv: [], env: workerEnv() });
    this.#worker.unref();
    this.#worker.on('message', (reply: { ok: boolean; message?: string }) => {
      this.#inFlight = false;
      this.#last = performance.now();
      // A failed checkpoint is not a failed write: the WAL just keeps growing until the next one works.
      this.#lastError = reply.ok ? undefined : reply.message;
      if (reply.ok) this.#checkpoints++;
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
    if (this.#inFlight) return;
    if (this.#commits < COMMITS_PER_CHECKPOINT && performance.now() - this.#last < MAX_CHECKPOINT_INTERVAL_MS) return;
    this.#commits = 0;
    this.#inFlight = true;
    this.#worker.postMessage('checkpoint');
  }

  async close(): Promise<void> {
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
