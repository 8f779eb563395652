/**
 * The package as npm packs it (`npm pack`: prepack builds dist/ afresh): what it ships, that its
 * source maps carry the sources they name, that the first quick start runs against it as a user's
 * project would import it (through package.json `exports`) and exits, and that the examples import
 * `steadfast` the same way. The dependencies are linked from this repository's node_modules, so the
 * test stays fast; `npm run test:packed` does the slow whole thing (npm install of the tarball).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './readme-blocks.js';
import { startTypeScript } from './run-example.js';

interface PackageJson {
  license: string;
  dependencies: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const work = mkdtempSync(join(tmpdir(), 'steadfast-package-'));
const project = join(work, 'project');
const installed = join(project, 'node_modules', 'steadfast');
let files: string[] = [];

beforeAll(() => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = packed!.files.map((file) => file.path).sort();
  // What `npm install <tarball>` puts in node_modules, with the dependencies this repository resolved.
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, packed!.filename), '-C', installed, '--strip-components=1']);
  for (const dependency of Object.keys(pkg.dependencies)) {
    mkdirSync(dirname(join(project, 'node_modules', dependency)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dependency), join(project, 'node_modules', dependency));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'first-hour', private: true, type: 'module', dependencies: { steadfast: '*' } }));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships dist/, package.json, README, LICENSE and CHANGELOG, and nothing else (no tests)', () => {
    expect(files.filter((file) => !file.startsWith('dist/'))).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
    expect(files.filter((file) => /\.test\.|(^|\/)test\//.test(file))).toEqual([]);
    for (const entry of Object.values(pkg.exports)) {
      expect(files).toContain(posix.normalize(entry.default));
      expect(files).toContain(posix.normalize(entry.types));
    }
  });

  it('has the Apache License 2.0 that package.json and the README name', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/## License\n\nApache-2\.0\n/);
  });

  it('has a source map beside every script, and each carries the sources it names, as they are in the repository', () => {
    const scripts = files.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(50);
    for (const script of scripts) {
      expect(files, `${script} has no map`).toContain(`${script}.map`);
      expect(readFileSync(join(installed, script), 'utf8')).toContain(`//# sourceMappingURL=${posix.basename(script)}.map`);
      const map = JSON.parse(readFileSync(join(installed, `${script}.map`), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
      expect(map.sources.length, script).toBeGreaterThan(0);
      map.sources.forEach((source, i) => {
        // Where the source was, relative to the package root: the same path in the repository.
        const path = posix.join(posix.dirname(script), map.sourceRoot ?? '', source);
        expect(path.startsWith('../'), `${script}: ${source} is outside the package`).toBe(false);
        expect(map.sourcesContent?.[i], `${script}: ${source} is not in the map`).toBe(readFileSync(join(ROOT, path), 'utf8'));
      });
    }
  });

  it('runs the persistent-actor quick start as a project that installed it: 5, then 10 after a restart, and exits', async () => {
    const app = join(project, 'quickstart.ts');
    copyFileSync(join(ROOT, 'examples/quickstart/persistent-actor.ts'), app);
    for (const expected of ['5\n', '10\n']) {
      const run = startTypeScript(app, project);
      const { code, stdout, stderr } = await run.exited(60_000);
      expect({ code, stdout }, stderr).toEqual({ code: 0, stdout: expected });
    }
  }, 150_000);

  it('loads without @opentelemetry/api (an optional peer): no spans, a given trace still carried', () => {
    const app = join(project, 'no-otel.mjs');
    writeFileSync(
      app,
      [
        "import { createRequire } from 'node:module';",
        "import { currentTraceCarrier, traceCarrierOf, traceContextOf } from 'steadfast';",
        'let found = true;',
        "try { createRequire(import.meta.url).resolve('@opentelemetry/api'); } catch { found = false; }",
        "const carrier = traceCarrierOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');",
        'console.log(JSON.stringify({ found, active: currentTraceCarrier() ?? null, context: traceContextOf(carrier) ?? null, carrier }));',
      ].join('\n'),
    );
    const output = JSON.parse(execFileSync(process.execPath, [app], { cwd: project, encoding: 'utf8' })) as Record<string, unknown>;
    expect(output).toEqual({ found: false, active: null, context: null, carrier: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
  });
});

describe('the examples', () => {
  it('import steadfast by the entry points package.json exports, never the sources by path', () => {
    const entries = new Set(Object.keys(pkg.exports).map((key) => posix.join('steadfast', key)));
    const imports: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) imports.push(`${relative(ROOT, path)}: ${match[1]}`);
        }
      }
    };
    walk(join(ROOT, 'examples'));
    const specifiers = imports.map((line) => line.slice(line.indexOf(': ') + 2));
    expect(specifiers).toContain('steadfast');
    const wrong = imports.filter((line) => {
      const specifier = line.slice(line.indexOf(': ') + 2);
      if (specifier.startsWith('steadfast')) return !entries.has(specifier);
      // Relative imports stay inside the example's own folder.
      return specifier.startsWith('.') && !specifier.startsWith('./');
    });
    expect(wrong).toEqual([]);
  });
});
