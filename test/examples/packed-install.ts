/**
 * `npm run test:packed`: the first hour of a user who installs the package. Packs it (prepack builds),
 * installs the tarball and tsx into an empty project with npm (from the local cache where it can),
 * and runs the README's first quick start there twice with `npx tsx`: it must print 5, then 10, and
 * exit each time within the bound. Slow (npm install compiles better-sqlite3 where no prebuilt binary
 * downloads), so it is a script of its own; test/examples/package.test.ts checks the same quick start
 * against the packed files with linked dependencies in the main suite.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const RUN_BOUND_MS = 60_000;
const INSTALL_BOUND_MS = 15 * 60_000;
const keep = process.argv.includes('--keep');

function run(command: string, args: string[], cwd: string, timeout: number): { code: number | null; stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, killSignal: 'SIGKILL' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, ms: Math.round(performance.now() - started) };
}

function fail(what: string, result: { code: number | null; stdout: string; stderr: string; ms: number }): never {
  console.error(`FAIL ${what} (exit ${result.code ?? 'none: killed at the bound'}, ${result.ms} ms)\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'steadfast-packed-'));
try {
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], ROOT, INSTALL_BOUND_MS);
  if (packed.code !== 0) fail('npm pack', packed);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  console.log(`packed ${filename} (${packed.ms} ms)`);

  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'first-hour', private: true, type: 'module' }, null, 2)}\n`);
  const tsx = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.tsx;
  const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename), `tsx@${tsx}`], project, INSTALL_BOUND_MS);
  if (install.code !== 0) fail('npm install', install);
  console.log(`npm install ${filename} tsx@${tsx} (${install.ms} ms)`);

  copyFileSync(join(ROOT, 'examples/quickstart/persistent-actor.ts'), join(project, 'quickstart.ts'));
  for (const expected of ['5', '10']) {
    const quickStart = run('npx', ['tsx', 'quickstart.ts'], project, RUN_BOUND_MS);
    if (quickStart.code !== 0 || quickStart.stdout !== `${expected}\n`) fail(`npx tsx quickstart.ts (expected ${expected})`, quickStart);
    console.log(`npx tsx quickstart.ts: ${expected}, exit 0 (${quickStart.ms} ms)`);
  }
  console.log('ok');
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
