/** Runs an example the way its npm script does and collects its output. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Runs `entry` (relative to the repository) with tsx. `cwd` defaults to the repository; elsewhere, the
 * repository's tsconfig still maps `steadfast` to the sources (TSX_TSCONFIG_PATH).
 */
export function runExample(entry: string, env: Record<string, string> = {}, cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // tsx by its resolved location, so that a run in another directory finds it too.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), resolve(ROOT, entry)], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TSX_TSCONFIG_PATH: resolve(ROOT, 'tsconfig.json'), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}
