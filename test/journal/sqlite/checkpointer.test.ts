/**
 * The WAL checkpointer's worker thread: it must run wherever the program runs (any working directory)
 * and whatever the program was started with (loaders and agents preloaded through NODE_OPTIONS), and
 * closing it must finish, since `system.terminate()` and so the process's exit wait for it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../../journal/sqlite/checkpointer.js';
import { waitUntil } from '../../support/eventually.js';

const root = resolve(import.meta.dirname, '../../..');
const CHILD = join(root, 'test/journal/sqlite/checkpointer-child.ts');
/** Blocks forever in a worker started for a database (workerData.path): the checkpointer's, not tsx's own hooks thread. */
const STUCK_IN_CHECKPOINT_WORKERS =
  "const { isMainThread, workerData } = require('node:worker_threads');\nif (!isMainThread && typeof workerData?.path === 'string') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n";

const dir = mkdtempSync(join(tmpdir(), 'steadfast-checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WAL database with commits the main connection never checkpoints, as the journal keeps it. */
function walDatabase(name: string): string {
  const path = join(dir, name);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('create table t (n integer)');
  for (let n = 0; n < 20; n++) db.prepare('insert into t values (?)').run(n);
  db.close();
  return path;
}

async function checkpointsOnce(checkpointer: Checkpointer): Promise<void> {
  for (let i = 0; i < 16; i++) checkpointer.afterCommit();
  await waitUntil(`a checkpoint ran (last error: ${checkpointer.lastError})`, () => checkpointer.checkpoints > 0, 30_000, 20);
}

describe('sqlite checkpointer', () => {
  it('checkpoints when the program runs in a directory from which better-sqlite3 cannot be resolved', async () => {
    const path = walDatabase('elsewhere.db');
    const before = process.cwd();
    process.chdir(dir);
    try {
      const checkpointer = new Checkpointer(path);
      await checkpointsOnce(checkpointer);
      expect(checkpointer.lastError).toBeUndefined();
      await checkpointer.close();
    } finally {
      process.chdir(before);
    }
  });

  for (const how of ['--require', 'NODE_OPTIONS'] as const) {
    it(`checkpoints, closes and lets the process exit although ${how} preloads a module that never lets a worker start`, async () => {
      // Stands for a loader whose hooks deadlock when registered from a worker (nodejs/node#53182);
      // tsx, run as `tsx file.ts` or `node --import tsx`, is preloaded the same way.
      const stuck = join(dir, 'stuck-in-workers.cjs');
      writeFileSync(stuck, STUCK_IN_CHECKPOINT_WORKERS);
      const path = walDatabase(`preloaded-${how}.db`);
      const preload = ['--require', stuck];
      const child = spawn(process.execPath, [...(how === '--require' ? preload : []), '--import', 'tsx', CHILD, path], {
        cwd: root,
        env: { ...process.env, ...(how === 'NODE_OPTIONS' ? { NODE_OPTIONS: preload.join(' ') } : {}) },
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const bound = setTimeout(() => child.kill('SIGKILL'), 40_000);
      try {
        expect({ code: await exit, stdout }).toEqual({ code: 0, stdout: 'checkpointed\n' });
      } finally {
        clearTimeout(bound);
      }
    }, 60_000);
  }
});
