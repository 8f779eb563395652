/**
 * The README's quick starts are the files in examples/quickstart, to the letter: so `npm run typecheck`
 * checks them against the package's entry points (tsconfig `paths`), and the tests run the files. The
 * first one runs here (twice, in a directory of its own: the total survives the restart, and the
 * process exits); the RabbitMQ pair runs in quickstart-amqp.test.ts, the packed package in package.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, ROOT } from './readme-blocks.js';
import { runExample } from './run-example.js';

const quickStarts: Record<string, string> = {
  'Quick start: a persistent actor': 'persistent-actor.ts',
  'Quick start: sending at-least-once with the outbox': 'outbox.ts',
  'Quick start: consuming from RabbitMQ with deduplication': 'consumer.ts',
};

describe('README quick starts', () => {
  for (const [heading, file] of Object.entries(quickStarts)) {
    it(`"${heading}" is examples/quickstart/${file}`, () => {
      const [first] = codeBlocks(heading).filter((block) => block.lang === 'ts');
      expect(first?.code).toBe(readFileSync(join(ROOT, 'examples/quickstart', file), 'utf8'));
    });
  }

  it('the persistent-actor quick start runs as written, exits, and its total survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steadfast-quickstart-'));
    try {
      const first = await runExample('examples/quickstart/persistent-actor.ts', {}, dir);
      expect(first).toMatchObject({ code: 0, stdout: '5\n' });
      const second = await runExample('examples/quickstart/persistent-actor.ts', {}, dir);
      expect(second).toMatchObject({ code: 0, stdout: '10\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
