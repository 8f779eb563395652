/**
 * A store that cannot be read stops the service at start, at once, with one line naming the file and
 * what to do, and a non-zero exit code; before, a damaged page made it retry recovery every 10 s for
 * up to 10 minutes.
 */
import { openSync, readFileSync, statSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flakyEndpoint } from './support/flaky-endpoint.js';
import { postJson, ServiceProcess, tempDataDir } from './support/service-process.js';

const dirs: { remove(): void }[] = [];
afterAll(() => {
  for (const dir of dirs) dir.remove();
});

/** Starts the service on `dataDir` and expects it to exit 1 within `withinMs`, with one fatal line naming `file`. */
async function expectFailedStart(dataDir: string, withinMs: number, file: string, says: RegExp): Promise<void> {
  const started = performance.now();
  const service = ServiceProcess.spawn({ DATA_DIR: dataDir, PORT: '0' });
  const { code } = await service.exited;
  expect(code).toBe(1);
  expect(performance.now() - started).toBeLessThan(withinMs);
  const fatal = service.lines.filter((line) => line.level >= 60).map((line) => line.msg);
  expect(fatal).toEqual([expect.stringContaining(file)]);
  expect(fatal[0]).toMatch(says);
  expect(service.lines.some((line) => line.msg === 'steadfast listening')).toBe(false);
}

describe('an unreadable store at start', () => {
  it('a file that is no database: exit 1 at once, one line naming the file and saying to restore or move it', async () => {
    const data = tempDataDir('not-a-db');
    dirs.push(data);
    const file = join(data.dir, 'steadfast.db');
    writeFileSync(file, 'these are not the pages you are looking for\n'.repeat(200));
    await expectFailedStart(data.dir, 20_000, file, /restore it from a backup, or move it away/);
  });

  it('a damaged page: exit 1 during recovery instead of retrying it, one line naming the store and what to do', async () => {
    const data = tempDataDir('damaged');
    dirs.push(data);
    const endpoint = await flakyEndpoint(() => true);
    try {
      const first = await ServiceProcess.start({ DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '60000' });
      for (let n = 0; n < 50; n++) {
        expect((await postJson(first.baseUrl, '/messages', { destination: { transport: 'http', url: endpoint.url }, payload: { n, text: 'y'.repeat(500) } })).status).toBe(202);
      }
      // A graceful stop checkpoints the WAL into the file: every page is in steadfast.db.
      expect((await first.stop('SIGTERM')).code).toBe(0);
    } finally {
      await endpoint.close();
    }
    const file = join(data.dir, 'steadfast.db');
    const pageSize = readFileSync(file).readUInt16BE(16);
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(4 * pageSize);
    // Page 1 (header and schema) stays: the file opens; the tables' pages behind it are garbage.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(size - pageSize, 0xa5), 0, size - pageSize, pageSize);
    closeSync(fd);

    // Well below the 10 s of one recovery ask: it did not wait for recovery to be retried.
    await expectFailedStart(data.dir, 9000, file, /cannot be read .*malformed.*restore it from a backup, or move it away/);
  });
});
