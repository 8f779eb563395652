/**
 * The layer rule, checked on the import graph of the sources: the tree reads bottom-up
 *   src/actor ← src/persistence ← src/query ← journal/*, delivery/* ← the service
 * and a module imports only from its own layer or the ones below. The package's entry modules
 * (package.json `exports`) are facades on top and may gather from every layer; a folder's index.ts
 * re-exports its own subtree. Also: no cycle between folders, and the database and broker drivers are
 * loaded only below their own entry points, so a user of the core never loads a driver they did not ask for.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Lower number = lower layer. The first matching prefix wins. */
const LAYERS: readonly (readonly [prefix: string, layer: number, name: string])[] = [
  ['src/actor/', 0, 'actor'],
  ['src/persistence/', 1, 'persistence'],
  ['src/query/', 2, 'query'],
  ['src/entities/', 2, 'entities'],
  ['journal/', 3, 'journal'],
  ['delivery/', 3, 'delivery'],
  ['service/', 4, 'service'],
];

/** Which folders may load which driver. */
const DRIVERS: Readonly<Record<string, readonly string[]>> = {
  pg: ['journal/postgres/', 'service/'],
  'better-sqlite3': ['journal/sqlite/', 'service/'],
  amqplib: ['delivery/amqp/', 'service/'],
  mysql2: ['journal/mysql/', 'service/'],
};

function sourceFiles(folder: string): string[] {
  const absolute = join(root, folder);
  let entries: string[];
  try {
    entries = readdirSync(absolute);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(absolute, entry);
    if (statSync(path).isDirectory()) return sourceFiles(relative(root, path));
    return entry.endsWith('.ts') && !entry.endsWith('.d.ts') ? [relative(root, path)] : [];
  });
}

interface Import {
  readonly from: string;
  readonly specifier: string;
  /** Repository-relative .ts path for relative imports; undefined for packages. */
  readonly target: string | undefined;
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\s)import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = (match[1] ?? match[2] ?? match[3])!;
    const target = specifier.startsWith('.') ? relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts') : undefined;
    found.push({ from: file, specifier, target });
  }
  return found;
}

function layerOf(file: string): { layer: number; name: string } | undefined {
  const entry = LAYERS.find(([prefix]) => file.startsWith(prefix));
  return entry && { layer: entry[1], name: entry[2] };
}

function entryModules(): Set<string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }>; bin?: Record<string, string> };
  const targets = [...Object.values(manifest.exports).map((entry) => entry.default), ...Object.values(manifest.bin ?? {})];
  return new Set(targets.map((target) => target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')));
}

const files = ['src', 'journal', 'delivery', 'service'].flatMap(sourceFiles);
const facades = entryModules();
const graph = files.flatMap(importsOf);

/** The folder-level cycles of `edges` (each cycle once, as the folder list). */
function folderCycles(edges: readonly (readonly [string, string])[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const [a, b] of edges) if (a !== b) (next.get(a) ?? next.set(a, new Set()).get(a)!).add(b);
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    const at = path.indexOf(node);
    if (at >= 0) {
      const cycle = path.slice(at);
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push([...cycle, node]);
      }
      return;
    }
    if (path.length > 20) return;
    for (const target of next.get(node) ?? []) visit(target, [...path, node]);
  };
  for (const node of next.keys()) visit(node, []);
  return cycles;
}

describe('the layer rule', () => {
  it('finds the sources and their imports (the check below looks at something)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.filter((edge) => edge.target !== undefined).length).toBeGreaterThan(300);
    expect(facades.has('src/index.ts')).toBe(true);
  });

  it('no module imports from a higher layer (entry modules excepted)', () => {
    const upward = graph
      .filter((edge) => edge.target !== undefined && !facades.has(edge.from))
      .flatMap((edge) => {
        const from = layerOf(edge.from);
        const to = layerOf(edge.target!);
        if (!from || !to || to.layer <= from.layer) return [];
        return [`${edge.from} (${from.name}) imports ${edge.specifier} (${to.name})`];
      });
    expect(upward).toEqual([]);
  });

  it('journal/ and delivery/ do not import each other (siblings on one layer)', () => {
    const across = graph
      .filter((edge) => edge.target !== undefined && !facades.has(edge.from))
      .filter((edge) => (edge.from.startsWith('journal/') && edge.target!.startsWith('delivery/')) || (edge.from.startsWith('delivery/') && edge.target!.startsWith('journal/')))
      .map((edge) => `${edge.from} imports ${edge.specifier}`);
    expect(across).toEqual([]);
  });

  it('storage plugins reach the core only through the plugin SPI modules (persistence, query; the testkit may also use the actor runtime and the read side it checks)', () => {
    const testkitMayUse = (target: string) => target.startsWith('src/actor/') || target.startsWith('src/query/');
    const spis = new Set(['src/persistence/spi.ts', 'src/query/spi.ts']);
    const reaching = graph
      .filter((edge) => edge.from.startsWith('journal/') && edge.target?.startsWith('src/'))
      .filter((edge) => !spis.has(edge.target!) && !(edge.from.startsWith('journal/testkit/') && testkitMayUse(edge.target!)))
      .map((edge) => `${edge.from} imports ${edge.specifier}`);
    expect(reaching).toEqual([]);
  });

  it('has no cycle between folders (a folder’s index.ts re-exports its subtree and is left out)', () => {
    const edges = graph
      .filter((edge) => edge.target !== undefined && !facades.has(edge.from) && !edge.from.endsWith('/index.ts') && files.includes(edge.target))
      .map((edge) => [dirname(edge.from), dirname(edge.target!)] as const);
    expect(folderCycles(edges)).toEqual([]);
  });

  it('loads pg, better-sqlite3, amqplib and mysql2 only in their own plugin folders', () => {
    const misplaced = graph
      .filter((edge) => edge.target === undefined)
      .flatMap((edge) => {
        const driver = Object.keys(DRIVERS).find((name) => edge.specifier === name || edge.specifier.startsWith(`${name}/`));
        if (!driver || DRIVERS[driver]!.some((prefix) => edge.from.startsWith(prefix))) return [];
        return [`${edge.from} loads ${edge.specifier}`];
      });
    expect(misplaced).toEqual([]);
  });
});
