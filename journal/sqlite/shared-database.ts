import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidOptionError } from '../../src/actor/errors.js';
import { JournalLockedError } from './errors.js';
import type { ResolvedDatabaseOptions, SqliteSynchronous } from './options.js';
import { migrate } from './schema.js';

interface Entry {
  readonly db: Database.Database;
  readonly synchronous: SqliteSynchronous;
  refs: number;
}

/**
 * One connection per database file per process, shared by the journal and the snapshot store and
 * counted, so the file is closed when the last user lets go. Sharing is not an optimisation here:
 * the connection holds the file exclusively, so a second connection in the same process would be
 * locked out just like another process.
 */
const open = new Map<string, Entry>();

export interface DatabaseLease {
  readonly db: Database.Database;
  readonly path: string;
  release(): void;
}

export function acquireDatabase(plugin: string, options: ResolvedDatabaseOptions): DatabaseLease {
  const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  let entry = open.get(path);
  if (entry === undefined) {
    entry = { db: openDatabase(path, options), synchronous: options.synchronous, refs: 0 };
    open.set(path, entry);
  } else if (entry.synchronous !== options.synchronous) {
    throw new InvalidOptionError(
      `${plugin}: option "synchronous" is ${options.synchronous}, but ${path} is already open in this process with ${entry.synchronous}; use the same setting for plugins sharing a file`,
    );
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    db: held.db,
    path,
    release() {
      if (released) return;
      released = true;
      if (--held.refs === 0) {
        open.delete(path);
        held.db.close();
      }
    },
  };
}

function openDatabase(path: string, options: ResolvedDatabaseOptions): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: options.lockTimeoutMs });
  try {
    // EXCLUSIVE before WAL: SQLite then keeps the WAL index in process memory (no -shm file) and
    // holds the lock from the first write until close, so another process gets SQLITE_BUSY at once.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma('foreign_keys = OFF');
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new JournalLockedError(path, { cause: error });
    throw error;
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
