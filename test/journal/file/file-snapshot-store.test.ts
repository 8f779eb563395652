import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSnapshotStore } from '../../../journal/file/index.js';
import { encodePersistenceId, snapshotFileName } from '../../../journal/file/snapshot-file-name.js';
import { InvalidOptionError } from '../../../src/actor/errors.js';
import { SnapshotMetadata } from '../../../src/persistence/snapshot-metadata.js';
import { SnapshotSelectionCriteria } from '../../../src/persistence/snapshot-selection-criteria.js';

const root = mkdtempSync(join(tmpdir(), 'steadfast-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `d${++dirs}`);

function capture(): { logger: pino.Logger; warnings: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    warnings: () =>
      lines
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40)
        .map((l) => l.msg),
  };
}

const json = (n: number) => ({ serializerId: 'json', manifest: 'S', payload: JSON.stringify({ n }) });

describe('fileSnapshotStore', () => {
  it('validates its options with a message naming the option', () => {
    expect(() => fileSnapshotStore({ dir: '' })).toThrow(InvalidOptionError);
    expect(() => fileSnapshotStore({ dir: '' })).toThrow(/option "dir"/);
    expect(() => fileSnapshotStore({ dir: 42 as unknown as string })).toThrow(/option "dir"/);
    expect(() => fileSnapshotStore({ dir: '/x', logger: {} as pino.Logger })).toThrow(/option "logger"/);
    expect(() => fileSnapshotStore(undefined as unknown as { dir: string })).toThrow(InvalidOptionError);
  });

  it('creates the directory and keeps snapshots across instances', async () => {
    const dir = join(freshDir(), 'a', 'b');
    const first = fileSnapshotStore({ dir });
    await first.start();
    expect(existsSync(dir)).toBe(true);
    await first.save(new SnapshotMetadata('p', 3, 1000), json(3));
    await first.close();
    const second = fileSnapshotStore({ dir });
    const loaded = await second.load('p', SnapshotSelectionCriteria.latest);
    expect(loaded?.metadata).toEqual(new SnapshotMetadata('p', 3, 1000));
    expect(loaded?.snapshot.payload).toBe('{"n":3}');
  });

  it('skips a corrupt newest snapshot with a warning and loads the next older one', async () => {
    const dir = freshDir();
    const { logger, warnings } = capture();
    const store = fileSnapshotStore({ dir, logger });
    for (let nr = 1; nr <= 4; nr++) await store.save(new SnapshotMetadata('p', nr, 1000 + nr), json(nr));
    const file = (nr: number) => join(dir, snapshotFileName('p', nr, 1000 + nr));
    // 4: truncated; 3: one flipped byte in the payload; 2 stays intact.
    writeFileSync(file(4), readFileSync(file(4)).subarray(0, 20));
    const damaged = readFileSync(file(3));
    const at = damaged.length - 40;
    damaged[at] = damaged[at]! ^ 0xff;
    writeFileSync(file(3), damaged);
    const loaded = await store.load('p', SnapshotSelectionCriteria.latest);
    expect(loaded?.metadata.sequenceNr).toBe(2);
    expect(loaded?.snapshot.payload).toBe('{"n":2}');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(warnings()).toHaveLength(2);
    expect(warnings()[0]).toMatch(/skipping a snapshot file/);
  });

  it('skips a file that is not a snapshot at all, and returns undefined when nothing readable is left', async () => {
    const dir = freshDir();
    const { logger, warnings } = capture();
    const store = fileSnapshotStore({ dir, logger });
    await store.start();
    writeFileSync(join(dir, snapshotFileName('p', 9, 1)), 'garbage');
    expect(await store.load('p', SnapshotSelectionCriteria.latest)).toBeUndefined();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(warnings()).toHaveLength(1);
  });

  it('never shows a snapshot that is still being written (temp files are invisible), and clears stale ones on start', async () => {
    const dir = freshDir();
    const store = fileSnapshotStore({ dir });
    await store.save(new SnapshotMetadata('p', 1, 1), json(1));
    writeFileSync(join(dir, '.tmp-crashed'), 'half a snapshot');
    writeFileSync(join(dir, '.tmp-in-progress'), 'being written right now');
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(dir, '.tmp-crashed'), old, old);
    expect((await store.load('p', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(1);
    await fileSnapshotStore({ dir }).start();
    expect(readdirSync(dir).sort()).toEqual(['.tmp-in-progress', snapshotFileName('p', 1, 1)]);
  });

  it('encodes persistenceIds so that no two share a file name, even on case-insensitive file systems', () => {
    const ids = ['a', 'A', 'a-1', 'a%2D1', 'a/b', 'a\\b', '..', '', 'é', 'E\u0301', 'x'.repeat(400), 'x'.repeat(401)];
    const names = ids.map(encodePersistenceId);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(ids.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z0-9_.%A-F~]+$/);
      expect(name.length).toBeLessThanOrEqual(200);
    }
  });

  it('handles persistenceIds that need hashing (very long) and prefixes of one another', async () => {
    const dir = freshDir();
    const store = fileSnapshotStore({ dir });
    const long = 'ünïcödé/'.repeat(100);
    await store.save(new SnapshotMetadata(long, 2, 5), json(2));
    await store.save(new SnapshotMetadata('ab', 1, 5), json(1));
    await store.save(new SnapshotMetadata('a', 7, 5), json(7));
    expect((await store.load(long, SnapshotSelectionCriteria.latest))?.metadata.persistenceId).toBe(long);
    expect((await store.load('a', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(7);
    expect((await store.load('ab', SnapshotSelectionCriteria.latest))?.metadata.sequenceNr).toBe(1);
  });

  it('reports a clear error when the directory cannot be created', async () => {
    const blocker = join(freshDir());
    writeFileSync(blocker, 'a file where the directory should be');
    await expect(fileSnapshotStore({ dir: blocker }).start()).rejects.toThrow(/EEXIST|ENOTDIR/);
  });
});
