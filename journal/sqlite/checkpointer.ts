import { Worker } from 'node:worker_threads';

/**
 * Runs WAL checkpoints on a worker thread. A checkpoint copies every page the WAL holds back into
 * the database file and fsyncs it; on the event loop that costs tens of milliseconds once the WAL has
 * grown, far more than a bounded write transaction. So the main connection never checkpoints
 * (`wal_autocheckpoint=0`) and this thread does it with a connection of its own (PASSIVE: it never
 * blocks the writer).
 *
 * The worker is plain CommonJS evaluated from a string, so it runs the same from the TypeScript
 * sources (tests, tsx) and from the compiled package.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
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

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #commits = 0;
  #inFlight = false;
  #last = performance.now();
  #lastError: string | undefined;

  constructor(path: string) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    this.#worker.unref();
    this.#worker.on('message', (reply: { ok: boolean; message?: string }) => {
      this.#inFlight = false;
      this.#last = performance.now();
      // A failed checkpoint is not a failed write: the WAL just keeps growing until the next one works.
      this.#lastError = reply.ok ? undefined : reply.message;
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('error', () => {});
  }

  /** Why the last checkpoint failed, if it did (for diagnostics). */
  get lastError(): string | undefined {
    return this.#lastError;
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
    await this.#exited;
  }
}
