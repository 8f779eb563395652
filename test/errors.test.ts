/**
 * The error codes stay one list: the union type in src/actor/error-codes.ts (the compiler refuses a
 * code outside it) and the table in docs/errors.md hold the same codes, and every code the sources
 * throw is in both.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

function sources(folder: string): string[] {
  return readdirSync(join(root, folder)).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const unionCodes = [...read('src/actor/error-codes.ts').matchAll(/\| '(ERR_[A-Z_]+)'/g)].map((m) => m[1]!);
const tableCodes = [...read('docs/errors.md').matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
const thrownCodes = new Set(['src', 'delivery', 'journal'].flatMap(sources).flatMap((file) => [...read(file).matchAll(/['"](ERR_[A-Z_]+)['"]/g)].map((m) => m[1]!)));

describe('error codes', () => {
  it('the union and the docs table list the same codes, each once', () => {
    expect(unionCodes.length).toBeGreaterThan(40);
    expect(new Set(unionCodes).size).toBe(unionCodes.length);
    expect([...tableCodes].sort()).toEqual([...unionCodes].sort());
  });

  it('every code in the sources is listed', () => {
    expect([...thrownCodes].filter((code) => !unionCodes.includes(code))).toEqual([]);
  });
});
