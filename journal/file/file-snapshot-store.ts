import {
  InvalidOptionError,
  type SerializedValue,
  type SnapshotMetadata,
  type SnapshotSelectionCriteria,
  type SnapshotStore,
  type StoredSnapshot,
} from '../../src/persistence/spi.js';
import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { defaultLogger } from '../memory/default-logger.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './snapshot-file-format.js';
import { type ParsedSnapshotName, parseSnapshotFileName, snapshotFileName, snapshotFilePrefix } from './snapshot-file-name.js';

export interface FileSnapshotStoreOptions {
  /** Directory of the snapshot files; created (with its parents) if missing. */
  dir: string;
  /** Where unreadable snapshots are reported; a default pino logger otherwise. */
  logger?: Logger;
}

const TEMP_PREFIX = '.tmp-';
/** Temp files older than this are leftovers of a crashed save (a save takes milliseconds). */
const STALE_TEMP_MS = 60_000;

/**
 * Akka's LocalSnapshotStore: one file per snapshot in one directory. `save` writes a temp file,
 * fsyncs it, renames it into place and fsyncs the directory, so after a crash a snapshot is either
 * complete or absent. `load` tries the matching snapshots newest first and skips (with a warning)
 * any it cannot read, so one damaged file costs a longer replay, never a failed recovery.
 */
export class FileSnapshotStore implements SnapshotStore {
  readonly #dir: string;
  readonly #logger: Logger | undefined;
  #ready: Promise<void> | undefined;

  constructor(options: FileSnapshotStoreOptions) {
    const { dir, logger } = validate(options);
    this.#dir = resolve(dir);
    this.#logger = logger;
  }

  get dir(): string {
    return this.#dir;
  }

  start(): Promise<void> {
    this.#ready ??= this.#prepare().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #prepare(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.#dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.#dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => {});
    }
  }

  async load(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<StoredSnapshot | undefined> {
    await this.start();
    const candidates = (await this.#list(persistenceId)).filter((c) => criteria.matches({ persistenceId, sequenceNr: c.sequenceNr, timestamp: c.timestamp }));
    candidates.sort((a, b) => b.sequenceNr - a.sequenceNr || b.timestamp - a.timestamp);
    for (const candidate of candidates) {
      const path = join(this.#dir, candidate.fileName);
      try {
        const stored = decodeSnapshotFile(path, await readFile(path));
        const { metadata } = stored;
        if (metadata.persistenceId !== persistenceId || metadata.sequenceNr !== candidate.sequenceNr || metadata.timestamp !== candidate.timestamp) {
          throw new Error(`it holds snapshot ${metadata.sequenceNr} of "${metadata.persistenceId}"`);
        }
        return stored;
      } catch (error) {
        // Deleted between listing and reading: not damage, just gone.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        (this.#logger ?? defaultLogger()).warn(
          { err: error, file: path, persistenceId, sequenceNr: candidate.sequenceNr },
          'skipping a snapshot file that cannot be read; trying the next older snapshot',
        );
      }
    }
    return undefined;
  }

  async save(metadata: SnapshotMetadata, snapshot: SerializedValue): Promise<void> {
    await this.start();
    const { persistenceId, sequenceNr, timestamp } = metadata;
    const finalName = snapshotFileName(persistenceId, sequenceNr, timestamp);
    const tempPath = join(this.#dir, `${TEMP_PREFIX}${randomUUID()}`);
    const data = encodeSnapshotFile({ metadata, snapshot });
    const handle = await open(tempPath, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(tempPath).catch(() => {});
      throw error;
    }
    await handle.close();
    await rename(tempPath, join(this.#dir, finalName));
    await this.#syncDir();
    // Saving the same sequence number again replaces the snapshot. The older copies go only after
    // the new file is durable: a crash in between leaves both, and `load` prefers the newer timestamp.
    const others = (await this.#list(persistenceId)).filter((c) => c.sequenceNr === sequenceNr && c.fileName !== finalName);
    await this.#unlinkAll(others);
  }

  async delete(metadata: SnapshotMetadata): Promise<void> {
    await this.start();
    const doomed = (await this.#list(metadata.persistenceId)).filter(
      (c) => c.sequenceNr === metadata.sequenceNr && (metadata.timestamp === 0 || c.timestamp === metadata.timestamp),
    );
    await this.#unlinkAll(doomed);
  }

  async deleteMatching(persistenceId: string, criteria: SnapshotSelectionCriteria): Promise<void> {
    await this.start();
    const doomed = (await this.#list(persistenceId)).filter((c) => criteria.matches({ persistenceId, sequenceNr: c.sequenceNr, timestamp: c.timestamp }));
    await this.#unlinkAll(doomed);
  }

  async close(): Promise<void> {}

  async #list(persistenceId: string): Promise<ParsedSnapshotName[]> {
    const prefix = snapshotFilePrefix(persistenceId);
    const found: ParsedSnapshotName[] = [];
    for (const name of await readdir(this.#dir)) {
      const parsed = parseSnapshotFileName(name, prefix);
      if (parsed) found.push(parsed);
    }
    return found;
  }

  async #unlinkAll(files: readonly ParsedSnapshotName[]): Promise<void> {
    if (files.length === 0) return;
    for (const file of files) {
      await unlink(join(this.#dir, file.fileName)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    await this.#syncDir();
  }

  /** Makes renames and unlinks durable: without it a crash may undo them even though the data is on disk. */
  async #syncDir(): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.#dir, 'r');
    } catch {
      return; // Windows cannot open directories; NTFS journals the rename itself.
    }
    try {
      await handle.sync();
    } catch (error) {
      // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename is then as durable as they make it.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
    } finally {
      await handle.close();
    }
  }
}

function validate(options: FileSnapshotStoreOptions): FileSnapshotStoreOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('fileSnapshotStore(options): options must be an object like { dir: "./snapshots" }');
  }
  if (typeof options.dir !== 'string' || options.dir.trim() === '') {
    throw new InvalidOptionError(`fileSnapshotStore: option "dir" must be a non-empty path string, got ${JSON.stringify(options.dir)}`);
  }
  if (options.logger !== undefined && typeof (options.logger as { warn?: unknown }).warn !== 'function') {
    throw new InvalidOptionError('fileSnapshotStore: option "logger" must be a pino logger');
  }
  return options;
}

/** Snapshots as files in `dir`: crash-safe writes, damaged files skipped on load. */
export function fileSnapshotStore(options: FileSnapshotStoreOptions): FileSnapshotStore {
  return new FileSnapshotStore(options);
}
