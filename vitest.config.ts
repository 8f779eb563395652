import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package's entry points by name, as tsconfig.json's `paths` maps them (the examples import "steadfast").
const entry = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const alias = {
  'steadfast/sqlite': entry('./journal/sqlite/index.ts'),
  'steadfast/postgres': entry('./journal/postgres/index.ts'),
  'steadfast/amqp': entry('./delivery/amqp/index.ts'),
  'steadfast/testkit': entry('./journal/testkit/index.ts'),
  'steadfast/http': entry('./delivery/http/index.ts'),
  steadfast: entry('./src/index.ts'),
};

// Two projects: `main` runs files two at a time (integration suites share one PostgreSQL and one
// RabbitMQ); `timing` holds tests that measure the event loop, which only mean something when no
// other test file competes for the 2 cores, so `npm test` runs them afterwards, one file at a time.
const shared = {
  alias,
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // `npm run test:coverage`: V8 coverage of the library code (not the tests, benches or examples).
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'delivery/**/*.ts', 'journal/**/*.ts', 'service/**/*.ts'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
    },
    projects: [
      {
        test: {
          ...shared,
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.timing.test.ts', '**/node_modules/**'],
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...shared,
          name: 'timing',
          include: ['test/**/*.timing.test.ts'],
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
