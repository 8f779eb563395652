/**
 * Test files that need a server say so in their path, so a glob selects them (`npm run test:postgres`
 * runs `vitest run postgres`, `npm run test:amqp` runs `vitest run amqp`): a file that asks for a
 * PostgreSQL resource has "postgres" in its path, one that asks for RabbitMQ has "amqp".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const testRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function testFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return testFiles(path);
    return entry.endsWith('.test.ts') ? [path] : [];
  });
}

describe('names of tests that need a server', () => {
  const files = testFiles(testRoot).map((path) => ({ path: relative(testRoot, path), text: readFileSync(path, 'utf8') }));

  it('finds the integration tests', () => {
    expect(files.filter((file) => /postgresResource\(|amqpResource\(/.test(file.text)).length).toBeGreaterThan(20);
  });

  it('name the server they need', () => {
    const misnamed = files.flatMap(({ path, text }) => [
      ...(/postgresResource\(/.test(text) && !path.includes('postgres') ? [`${path} uses PostgreSQL`] : []),
      ...(/amqpResource\(/.test(text) && !path.includes('amqp') ? [`${path} uses RabbitMQ`] : []),
    ]);
    expect(misnamed).toEqual([]);
  });
});
