import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration suites share one PostgreSQL and one RabbitMQ; two files at a time keeps both cores busy
    // without making timing-sensitive tests flaky.
    maxWorkers: 2,
  },
});
