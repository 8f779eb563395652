// `npm pack` (prepack): dist/ built afresh, so that nothing a removed source left behind is shipped.
// Built beside it and swapped in by two renames: a service started from dist/ (`npm start`) while a
// pack runs keeps finding every file it loads later (a worker, say) instead of an emptied folder.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fresh = join(root, `dist.fresh-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', fresh], { stdio: 'inherit' });
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(fresh, dist);
} finally {
  rmSync(fresh, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
