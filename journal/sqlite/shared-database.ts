import { InvalidOptionError } from '../../src/persistence/spi.js';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer.js';
import { classifySqliteError, CorruptDatabaseError, DatabaseMissingError, JournalLockedError, SchemaBehindError, SchemaVersionError } from './errors.js';
import type { ResolvedDatabaseOptions, SqliteSynchronous } from './options.js';
import { migrate, SCHEMA_VERSION } from './schema.js';

interface Entry {
  readonly db: Database.Database;
  readonly lock: Database.Database | undefined;
  readonly checkpointer: Checkpointer | undefined;
  readonly synchronous: SqliteSynchronous;
  refs: number;
}

/**
 * One connection per database file per process, shared by the journal and the snapshot store and
 * counted, so the file is closed when the last user lets go.
 *
 * One process per file: the journal caches each stream's highest sequence number and two processes
 * appending to one stream would fork it. The guard is a sidecar `<path>-lock` SQLite file held with
 * `locking_mode=EXCLUSIVE` for as long as the database is open; the OS drops that lock when the
 * process dies, so a crash never leaves a stale lock. The database itself stays in ordinary WAL mode
 * so that a second connection (on a worker thread) can run checkpoints off the event loop, and so
 * that operators can read it with the sqlite3 shell while the service runs.
 *
 * That is also what lets a read-only journal in another process read it (`readOnly: true`): a
 * connection opened read-only, apart from the writer's (keyed `readonly:<path>` here), that takes no
 * lock, runs no migration and no checkpoint. WAL readers never block the writer; each statement reads
 * one snapshot and lets it go when it ends, so the writer's checkpoints are held back only while a
 * statement runs.
 */
const open = new Map<string, Entry>();

export interface DatabaseLease {
  readonly db: Database.Database;
  readonly path: string;
  /** Tell the lease a write transaction committed (it schedules WAL checkpoints). */
  afterCommit(): void;
  release(): Promise<void>;
}

export function acquireDatabase(plugin: string, options: ResolvedDatabaseOptions, readOnly = false): DatabaseLease {
  const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  const key = readOnly ? `readonly:${path}` : path;
  let entry = open.get(key);
  if (entry === undefined) {
    entry = readOnly ? openReadOnly(path, options) : openDatabase(path, options);
    open.set(key, entry);
  } else if (!readOnly && entry.synchronous !== options.synchronous) {
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
    afterCommit() {
      held.checkpointer?.afterCommit();
    },
    async release() {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      open.delete(key);
      await held.checkpointer?.close();
      held.db.close();
      held.lock?.close();
    },
  };
}

function openDatabase(path: string, options: ResolvedDatabaseOptions): Entry {
  if (path === ':memory:') {
    const db = new Database(path);
    migrate(db, path);
    return { db, lock: undefined, checkpointer: undefined, synchronous: options.synchronous, refs: 0 };
  }
  mkdirSync(dirname(path), { recursive: true });
  const lock = takeLock(path, options.lockTimeoutMs);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.lockTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma('wal_autocheckpoint = 0');
    migrate(db, path);
    return { db, lock, checkpointer: new Checkpointer(path, db), synchronous: options.synchronous, refs: 0 };
  } catch (error) {
    db?.close();
    lock.close();
    if (isBusy(error)) throw new JournalLockedError(path, { cause: error });
    throw unreadable(path, error);
  }
}

function openReadOnly(path: string, options: ResolvedDatabaseOptions): Entry {
  if (!existsSync(path)) throw new DatabaseMissingError(path);
  let db: Database.Database | undefined;
  try {
    // The busy timeout covers the moment a reader may wait: while the writer recovers or restarts the WAL.
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: options.lockTimeoutMs });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new SchemaVersionError(path, version, SCHEMA_VERSION);
    if (version < SCHEMA_VERSION) throw new SchemaBehindError(path, version, SCHEMA_VERSION);
    return { db, lock: undefined, checkpointer: undefined, synchronous: options.synchronous, refs: 0 };
  } catch (error) {
    db?.close();
    if ((error as { code?: unknown }).code === 'SQLITE_CANTOPEN' && !existsSync(path)) throw new DatabaseMissingError(path, { cause: error });
    throw unreadable(path, error);
  }
}

function takeLock(path: string, timeoutMs: number): Database.Database {
  const lock = new Database(`${path}-lock`, { timeout: timeoutMs });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    // A write takes the EXCLUSIVE lock, and EXCLUSIVE locking mode keeps it until close.
    lock.exec(`CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY, pid INTEGER, since TEXT)`);
    lock.prepare('INSERT OR REPLACE INTO owner VALUES (1, ?, ?)').run(process.pid, new Date().toISOString());
    return lock;
  } catch (error) {
    lock.close();
    if (isBusy(error)) throw new JournalLockedError(path, { cause: error });
    throw unreadable(`${path}-lock`, error);
  }
}

/** A file that is no database, or a damaged one, is named with what to do; retrying would not help. */
function unreadable(path: string, error: unknown): unknown {
  return classifySqliteError(error) === 'corrupt' && !(error instanceof CorruptDatabaseError) ? new CorruptDatabaseError(path, { cause: error }) : error;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
