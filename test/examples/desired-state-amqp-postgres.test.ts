import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource, postgresResource } from '../support/services.js';
import { runExample } from './run-example.js';

const amqp = await amqpResource('example-desired-state');
const pg = await postgresResource('example-desired-state');
afterAll(async () => {
  await amqp?.cleanup();
  await pg?.cleanup();
});

function checkOutput(stdout: string): void {
  expect(stdout).toMatch(/BEFORE: .*\n {2}lost when the call failed: m\d/);
  expect(stdout).toContain('duplicates recognised and ignored: m2, m5; worker restarted 1x mid-stream');
  expect(stdout).toMatch(/before: .*\(DIVERGED\)/);
  expect(stdout).not.toMatch(/after: .*\(DIVERGED\)/);
  expect(stdout).toMatch(/ms-1 desired: files=\[b\.mp4, c\.mp4\] published=true\n.*\n {2}after: {2}files=\[b\.mp4, c\.mp4\] published=true \(ok\)/);
  expect(stdout).toMatch(/ms-2 desired: files=\[x\.mp4, y\.mp4\] published=false\n.*\n {2}after: {2}files=\[x\.mp4, y\.mp4\] published=false \(ok\)/);
  expect(stdout).toContain('after converged on all');
}

describe('example: desired-state', () => {
  it('runs in process by default: before diverges, after converges', async () => {
    const { code, stdout, stderr } = await runExample('examples/desired-state/main.ts');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('commands come from an in-process queue');
    checkOutput(stdout);
  });

  it.runIf(amqp)(
    'runs through RabbitMQ when AMQP_URL is set',
    async () => {
      const { code, stdout, stderr } = await runExample('examples/desired-state/main.ts', { AMQP_URL: amqp!.url });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain('commands come from RabbitMQ');
      checkOutput(stdout);
    },
    60_000,
  );

  it.runIf(amqp && pg)(
    'with PG_URL too, runs "after" once more with its entities spread over two processes (amqpEntities)',
    async () => {
      const { code, stdout, stderr } = await runExample('examples/desired-state/main.ts', { AMQP_URL: amqp!.url, PG_URL: pg!.connectionString });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      checkOutput(stdout);
      expect(stdout).toContain('ACROSS: the same entities spread over two processes');
      const ms1 = /ms-1 served by member ([ab]) \(process (\d+)\); duplicates ignored: m2; downstream: files=\[b\.mp4, c\.mp4\] published=true \(ok\)/.exec(stdout);
      const ms2 = /ms-2 served by member ([ab]) \(process (\d+)\); duplicates ignored: m5; downstream: files=\[x\.mp4, y\.mp4\] published=false \(ok\)/.exec(stdout);
      expect(ms1).not.toBeNull();
      expect(ms2).not.toBeNull();
      // One partition each: the two media sets hash to different partitions, so to different members,
      // each in a process of its own.
      expect(ms1![1]).not.toBe(ms2![1]);
      expect(ms1![2]).not.toBe(ms2![2]);
    },
    60_000,
  );
});
